"""How an API request says who it is: a bearer token (simplejwt's), or the site's session.

Kept apart from the views: DRF imports this module while it loads its own views.
"""

from __future__ import annotations

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import BlacklistMixin, Token
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password

from clinic.models import User
from clinic.prepared import PreparedQuery

USER_BY_ID = PreparedQuery(lambda pk: User.objects.filter(pk=pk), pk=int)

# Tokens whose signature and claims this process has verified, by their encoded form. A client
# sends the same token with every request until it expires; checking the signature once is
# enough, the expiry is checked every time. Bounded: emptied when full (a clinic has far fewer
# live tokens than this); dict operations are atomic, so the worker's threads share it safely.
VERIFIED_TOKENS_MAX = 4096
_verified_tokens: dict[bytes, Token] = {}


@receiver(setting_changed)
def _forget_verified_tokens(*, setting: str, **kwargs: object) -> None:
    if setting in ("SIMPLE_JWT", "SECRET_KEY"):
        _verified_tokens.clear()


class BearerAuthentication(JWTAuthentication):
    """simplejwt's bearer tokens, with the same checks (the account exists and is active,
    the password has not changed since the token was issued), the account read through a
    prepared query: every API request reads it. A token's signature is verified once per
    process (see `_verified_tokens`); its expiry, the account and the password on every request."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified_tokens.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())
            except TokenError:
                _verified_tokens.pop(raw_token, None)  # expired: the full check says so
            else:
                return token
        token = super().get_validated_token(raw_token)
        if isinstance(token, BlacklistMixin):
            return token  # a blacklist can revoke it at any time: checked on every request
        if len(_verified_tokens) >= VERIFIED_TOKENS_MAX:
            _verified_tokens.clear()
        _verified_tokens[raw_token] = token
        return token

    def get_user(self, validated_token: Token) -> User:
        try:
            user_id = int(validated_token[jwt_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidToken(_("Token contained no recognizable user identification")) from error
        try:
            user = USER_BY_ID.get(pk=user_id)
        except User.DoesNotExist as error:
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from error
        if not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if jwt_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            jwt_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user
