from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/register/", api.PatientRegisterApi.as_view(), name="register"),
    path("auth/register/doctor/", api.DoctorRegisterApi.as_view(), name="register-doctor"),
    path("auth/login/", api.LoginApi.as_view(), name="login"),
    path("auth/logout/", api.LogoutApi.as_view(), name="logout"),
    path("users/me/", api.MeApi.as_view(), name="user-me"),
    path("users/update/", api.UserUpdateApi.as_view(), name="user-update"),
    path("users/delete/", api.UserDeleteApi.as_view(), name="user-delete"),
    path("users/create/", api.UserCreateApi.as_view(), name="user-create"),
    path("doctors/list/", api.DoctorListApi.as_view(), name="doctor-list"),
    path("doctors/<int:doctor_id>/", api.DoctorDetailApi.as_view(), name="doctor-detail"),
    path("doctors/<int:doctor_id>/approve/", api.DoctorApproveApi.as_view(), name="doctor-approve"),
]
