"""The back office's site: its sign-in gets the API's throttle and audit, and can be Firebase-only.

`/admin/login/` is a second door to the same accounts as `/api/auth/login/`, so it counts
attempts against the same per-address `login` rate, writes the same audit entries, and
follows `LOCAL_SIGN_IN_ENABLED`: with local sign-in off, a password is refused and only a
Firebase ID token (posted as `id_token` by a page that signed in with Firebase) lets a
staff or admin account in.
"""

import math
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from core.throttling import LoginThrottle

_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class ClinicAdminSite(admin.AdminSite):
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from accounts import services

        if request.method != "POST":
            return super().login(request, extra_context)
        throttle = LoginThrottle()
        # The throttle reads only the client address and the cache, which a plain request has.
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]
            # Counted before the password is checked, so the answer tells a guesser nothing.
            response = self._refused(request, "Too many sign-in attempts; try again later.", status=429)
            response["Retry-After"] = str(math.ceil(throttle.wait() or 1))
            return response
        if request.POST.get("id_token"):
            return self._firebase_login(request, request.POST["id_token"])
        email = request.POST.get("username", "")
        if not settings.LOCAL_SIGN_IN_ENABLED:
            services.admin_sign_in_refused(email=email, reason="local_sign_in_disabled")
            return self._refused(request, "Password sign-in is switched off; sign in with Firebase.")
        response = super().login(request, extra_context)
        if response.status_code == 302 and request.user.is_authenticated:
            services.admin_sign_in_recorded(user=request.user, provider="admin")
        else:
            services.admin_sign_in_refused(email=email)
        return response

    def _firebase_login(self, request: HttpRequest, id_token: str) -> HttpResponse:
        from accounts import identity, services
        from accounts.models import User

        if not settings.FIREBASE_ENABLED:
            services.admin_sign_in_refused(email="", reason="firebase_not_configured")
            return self._refused(request, "Firebase sign-in is not configured.")
        try:
            claims = identity.firebase_verify(id_token)
        except identity.IdentityError:
            services.admin_sign_in_refused(email="", reason="firebase_token_refused")
            return self._refused(request, "Unable to sign in with the credentials provided.")
        user = User.objects.filter(firebase_uid=claims.uid, is_active=True).first()
        if user is None or not user.is_staff:
            services.admin_sign_in_refused(email=claims.email, reason="not_back_office")
            return self._refused(request, "Unable to sign in with the credentials provided.")
        auth_login(request, user, backend=_MODEL_BACKEND)
        services.admin_sign_in_recorded(user=user, provider="admin-firebase")
        target = request.POST.get("next") or request.GET.get("next") or ""
        safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
        return HttpResponseRedirect(target if safe else reverse("admin:index", current_app=self.name))

    def _refused(self, request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
        context = {**self.each_context(request), "title": "Sign-in refused", "message": message}
        return render(request, "accounts/admin_login_refused.html", context, status=status)
