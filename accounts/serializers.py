from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Doctor, Gender, Patient, User
from core.inputs import BoundedDateField
from core.roles import Role
from core.serializers import ModelSerializer


class PatientProfileSerializer(ModelSerializer):
    # Blank until the patient says: the schema must admit "" beside the choices (found by
    # the API fuzzer: every profile without a gender failed its own published schema).
    gender = serializers.ChoiceField(choices=Gender.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Patient
        fields = ["id", "date_of_birth", "gender", "address", "emergency_contact_name", "emergency_contact_phone"]
        read_only_fields = fields


class DoctorProfileSerializer(ModelSerializer):
    class Meta:
        model = Doctor
        fields = ["id", "specialization", "qualifications", "experience_years", "is_approved"]
        read_only_fields = fields


class UserSerializer(ModelSerializer):
    patient = serializers.SerializerMethodField()
    doctor = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "phone", "is_active", "patient", "doctor"]
        read_only_fields = fields

    def _profile(self, user: User, name: str, serializer: type[ModelSerializer]) -> dict | None:
        profile = getattr(user, name, None)
        return serializer(profile).data if profile is not None else None

    @extend_schema_field(PatientProfileSerializer(allow_null=True))
    def get_patient(self, user: User) -> dict | None:
        return self._profile(user, "patient", PatientProfileSerializer)

    @extend_schema_field(DoctorProfileSerializer(allow_null=True))
    def get_doctor(self, user: User) -> dict | None:
        return self._profile(user, "doctor", DoctorProfileSerializer)


class DoctorSerializer(ModelSerializer):
    user_id = serializers.IntegerField(
        read_only=True, help_text="The doctor's user id: messages and `user.{id}.notifications` take user ids."
    )
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    # Annotated by accounts.selectors (doctor_list, doctor_get, doctor_get_for_admin).
    rating = serializers.DecimalField(
        max_digits=3, decimal_places=2, coerce_to_string=False, read_only=True, allow_null=True
    )
    review_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Doctor
        fields = [
            "id",
            "user_id",
            "first_name",
            "last_name",
            "specialization",
            "qualifications",
            "experience_years",
            "is_approved",
            "rating",
            "review_count",
        ]
        read_only_fields = fields


class SessionSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    user = UserSerializer()


# --- Input ------------------------------------------------------------------------------

_name: dict[str, Any] = {"max_length": 150, "allow_blank": False}
_phone: dict[str, Any] = {"max_length": 32, "required": False, "allow_blank": True}


class PasswordField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            write_only=True, max_length=128, trim_whitespace=False, style={"input_type": "password"}, **kwargs
        )


# The patient profile's fields, as sign-up and profile updates take them. (A comment, not a
# docstring: the OpenAPI schema would give it to every input built on this one.)
class _PatientProfileInput(serializers.Serializer):
    phone = serializers.CharField(**_phone)
    date_of_birth = BoundedDateField(required=False, allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True)
    emergency_contact_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    emergency_contact_phone = serializers.CharField(**_phone)


class PatientRegisterInput(_PatientProfileInput):
    email = serializers.EmailField(max_length=254)
    password = PasswordField()
    first_name = serializers.CharField(**_name)
    last_name = serializers.CharField(**_name)


class DoctorRegisterInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField()
    first_name = serializers.CharField(**_name)
    last_name = serializers.CharField(**_name)
    specialization = serializers.CharField(max_length=120)
    qualifications = serializers.CharField(max_length=2000)
    experience_years = serializers.IntegerField(min_value=0, max_value=80)
    phone = serializers.CharField(**_phone)


class LoginInput(serializers.Serializer):
    id_token = serializers.CharField(required=False, max_length=8192)
    email = serializers.CharField(required=False, max_length=254)
    password = serializers.CharField(required=False, max_length=128, trim_whitespace=False)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("id_token"):
            return attrs
        if attrs.get("email") and attrs.get("password"):
            return attrs
        raise serializers.ValidationError("Give an id_token, or an email and a password.")


class UserUpdateInput(_PatientProfileInput):
    first_name = serializers.CharField(**_name, required=False)
    last_name = serializers.CharField(**_name, required=False)
    specialization = serializers.CharField(max_length=120, required=False)
    qualifications = serializers.CharField(max_length=2000, required=False)
    experience_years = serializers.IntegerField(min_value=0, max_value=80, required=False)


class UserDeleteInput(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1)


class UserCreateInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices)


class DoctorListFilter(serializers.Serializer):
    specialization = serializers.CharField(required=False, max_length=120, allow_blank=True)
    search = serializers.CharField(required=False, max_length=200, allow_blank=True)
