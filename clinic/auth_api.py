"""Accounts over the API: sign-in, refresh (rotating, the old refresh token blacklisted),
sign-out, a patient's own registration and the profile.

An access token lives `JWT_ACCESS_MINUTES` (15 by default) and is not revocable before then;
a refresh token is single-use: refreshing blacklists it and hands out a new pair, signing out
blacklists it. Every sign-in attempt is an audit event, as on the site.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import authenticate
from django.contrib.auth import logout as session_logout
from django.contrib.auth.models import update_last_login
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from api.fields import TextField
from api.views import ClinicAPIView
from clinic.audit import record_event
from clinic.client_address import AuthRateThrottle
from clinic.models import User
from clinic.roles import IsSignedIn
from clinic.serializers import (
    ProfileSerializer,
    RegisterSerializer,
    RegistrationResultSerializer,
)
from clinic.services import register_patient_account
from clinic.sessions import AUTH_TIME_CLAIM, refresh_lifetime


class LoginSerializer(serializers.Serializer):
    username = TextField(max_length=150)
    password = TextField(max_length=128, write_only=True, trim_whitespace=False)


class TokenPairSerializer(serializers.Serializer):
    access = TextField()
    refresh = TextField()


class LoginResultSerializer(TokenPairSerializer):
    user = ProfileSerializer()


class RefreshSerializer(serializers.Serializer):
    refresh = TextField(max_length=4096)


class LogoutSerializer(serializers.Serializer):
    refresh = TextField(max_length=4096, help_text=_("The refresh token to revoke."))


def sign_in(user: User, request: Request) -> dict[str, str]:
    """A new token pair for `user`, recorded like a sign-in on the site (last_login and an
    auth.login audit event). The refresh token carries the time of this sign-in and lives
    the role's idle time (clinic.sessions)."""
    with transaction.atomic():
        refresh = RefreshToken.for_user(user)
        now = int(refresh.current_time.timestamp())
        refresh[AUTH_TIME_CLAIM] = now
        refresh.set_exp(lifetime=refresh_lifetime(user, signed_in_at=now, now=now))
        update_last_login(None, user)
        record_event(actor=user, action="auth.login", obj=user, request=request)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _parse_refresh(raw: str) -> RefreshToken:
    """Signature, expiry, type and blacklist checked; InvalidToken (401) otherwise."""
    try:
        return RefreshToken(raw)
    except TokenError as error:
        raise InvalidToken(error.args[0]) from error


def _active_owner(refresh: RefreshToken) -> User:
    user = User.objects.filter(pk=refresh.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active:
        raise AuthenticationFailed(
            _("No active account found for the given token."), code="no_active_account"
        )
    if jwt_settings.CHECK_REVOKE_TOKEN and refresh.get(
        jwt_settings.REVOKE_TOKEN_CLAIM
    ) != get_md5_hash_password(user.password):
        raise InvalidToken(_("The password has changed since this token was issued."))
    return user


def _lock_unused(refresh: RefreshToken) -> None:
    """Lock the token's row and check it is still unused: two requests replaying one
    refresh token at once must not both get a new pair. Inside a transaction."""
    jti = refresh[jwt_settings.JTI_CLAIM]
    OutstandingToken.objects.select_for_update().filter(jti=jti).first()
    if BlacklistedToken.objects.filter(token__jti=jti).exists():
        raise InvalidToken(_("Token is blacklisted"))


class OpenEndpoint(ClinicAPIView):
    """For endpoints reached without signing in (sign-in, refresh, registration).

    A stale or broken token in the header must not stop anyone from signing in, so no
    authentication runs; refused credentials are still a 401 with its WWW-Authenticate
    header (REST framework turns them into a 403 when a view names no scheme).
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Sign-in, refresh and registration share one allowance per client address.
    throttle_classes = [AuthRateThrottle]
    throttle_scope = "auth"

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class LoginView(OpenEndpoint):
    @extend_schema(
        operation_id="auth_login",
        request=LoginSerializer,
        responses={200: LoginResultSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # authenticate() records a failed attempt (auth.login_failed) itself.
        user = authenticate(
            self.django_request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise AuthenticationFailed(
                _("No active account found with the given credentials."),
                code="no_active_account",
            )
        tokens = sign_in(user, request)
        return Response({**tokens, "user": ProfileSerializer(user).data})


class RefreshView(OpenEndpoint):
    @extend_schema(
        operation_id="auth_refresh",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh = _parse_refresh(serializer.validated_data["refresh"])
        with transaction.atomic():
            _lock_unused(refresh)
            user = _active_owner(refresh)
            now = int(refresh.current_time.timestamp())
            # Tokens issued before the claim existed count from their own issue.
            signed_in_at = int(refresh.get(AUTH_TIME_CLAIM, refresh["iat"]))
            lifetime = refresh_lifetime(user, signed_in_at=signed_in_at, now=now)
            if lifetime <= dt.timedelta(0):
                raise InvalidToken(_("This sign-in has ended; please sign in again."))
            access = str(refresh.access_token)
            refresh.blacklist()
            refresh.set_jti()
            refresh[AUTH_TIME_CLAIM] = signed_in_at
            refresh.set_exp(lifetime=lifetime)
            refresh.set_iat()
            refresh.outstand()
        return Response({"access": access, "refresh": str(refresh)})


class LogoutView(ClinicAPIView):
    """Revoke the refresh token given; a caller signed in with the site's session as well
    is signed out of it too. (A browser without tokens signs out at /accounts/logout/.)"""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_logout",
        request=LogoutSerializer,
        responses={204: OpenApiResponse(description=str(_("Signed out.")))},
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh = _parse_refresh(serializer.validated_data["refresh"])
        owner = _token_owner_matches(request, refresh)
        with transaction.atomic():
            _lock_unused(refresh)
            refresh.blacklist()
            if owner is not None:
                record_event(actor=owner, action="auth.logout", obj=owner, request=request)
        if isinstance(request.successful_authenticator, SessionAuthentication):
            # Records its own audit event (user_logged_out).
            session_logout(self.django_request)
        return Response(status=204)


def _token_owner_matches(request: Request, refresh: RefreshToken) -> User | None:
    """The token's owner; a signed-in caller may only revoke their own tokens."""
    owner = User.objects.filter(pk=refresh.get(jwt_settings.USER_ID_CLAIM)).first()
    user = request.user
    if user is not None and user.is_authenticated and owner is not None and owner.pk != user.pk:
        raise ValidationError({"refresh": [_("This token belongs to another account.")]})
    return owner


class RegisterView(OpenEndpoint):
    """A patient creates their own account, under the site's identity rules. The answer is
    the same whether or not the person is already known to the clinic: the desk links
    earlier records in person."""

    @extend_schema(
        operation_id="auth_register",
        request=RegisterSerializer,
        responses={201: RegistrationResultSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = self.validated_body(RegisterSerializer)
        registration = register_patient_account(**data)
        result = {
            "user": registration.user,
            "patient_id": registration.patient.pk,
            **sign_in(registration.user, request),
        }
        return self.object_response(result, RegistrationResultSerializer, status=201)


class ProfileView(ClinicAPIView):
    permission_classes = [IsSignedIn]

    @extend_schema(operation_id="auth_profile", responses={200: ProfileSerializer})
    def get(self, request: Request) -> Response:
        return self.object_response(request.user, ProfileSerializer)
