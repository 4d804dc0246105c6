"""Sign-in with django-allauth: email and password, mandatory email verification, password reset, optional TOTP.

Every login (the admin's, the OAuth authorize page's, the portal's) goes through allauth's login so that email
verification and the second factor apply everywhere (docs/authentication.md).
"""

from .env import env_bool, env_int, env_str

AUTHENTICATION_BACKENDS = [
    # Permissions from the user's role (apps/accounts/roles.py); also authenticates by username (the email).
    "apps.accounts.backends.RoleBackend",
    # allauth's login by email address.
    "allauth.account.auth_backends.AuthenticationBackend",
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/portal/"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "apps.accounts.adapters.BrandAccountAdapter"
MFA_ADAPTER = "apps.accounts.adapters.BrandMFAAdapter"

# Users sign in with their email; the username field stays (Django's admin and older code read it) and is set to
# the email, as accounts.services.user_create does.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None  # the "remember me" box decides
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""  # the brand's name is in the sender, not in every subject
ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR = "allauth.account.forms.EmailAwarePasswordResetTokenGenerator"
# allauth's defaults made explicit: per IP and per login name, counted in the default cache.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}

# Optional second factor: an authenticator app (TOTP) and recovery codes. The issuer shown in the authenticator app
# is the brand's display name (apps.accounts.adapters.BrandMFAAdapter).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_RECOVERY_CODE_COUNT = 10

# Staff invitations: how long the emailed link stays valid.
INVITATION_VALID_DAYS = env_int("INVITATION_VALID_DAYS", 7)

# Email: the console locally (config/settings/local.py), locmem in tests, SMTP or another backend by environment.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "no-reply@localhost")

# Links in emails that are sent outside a request on the brand's host (staff invitations): `{domain}` becomes the
# brand's primary domain. Behind TLS in production: https://{domain}.
TENANT_SITE_URL = env_str("TENANT_SITE_URL", "http://{domain}:8000")

# Audit entries older than this are forgotten by the daily beat task (apps.accounts.tasks); 0 keeps them for ever.
AUDIT_LOG_RETENTION_DAYS = env_int("AUDIT_LOG_RETENTION_DAYS", 730)
