"""One settings module, driven by environment variables with safe development defaults.

Every knob is read here; nothing else in the code reads os.environ for configuration.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("LOOPCRM_DATA_DIR", "loopcrm-data")).resolve()


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data folder."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "ninja",
    "loopcrm.core",
    "loopcrm.accounts",
    "loopcrm.customers",
    "loopcrm.commerce",
    "loopcrm.interactions",
    "loopcrm.value",
    "loopcrm.loyalty",
    "loopcrm.service",
    "loopcrm.feedback",
    "loopcrm.imports",
    "loopcrm.analytics",
    "loopcrm.improvement",
    "loopcrm.overview",
    "loopcrm.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "loopcrm.core.middleware.DatabaseBusyMiddleware",
    "loopcrm.core.idempotency.IdempotencyMiddleware",
    "loopcrm.accounts.middleware.UserPreferencesMiddleware",
    # Last, so that it sees failed logins after authentication ran.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loopcrm.urls"
WSGI_APPLICATION = "loopcrm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "loopcrm.web.context.navigation",
            ],
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'loopcrm.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "600")))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # See shared/RELIABILITY.md: IMMEDIATE transactions are what keeps concurrent writers alive;
        # WAL lets readers go on while one writes.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            " PRAGMA foreign_keys=ON;",
        }
    else:
        config.setdefault("OPTIONS", {})
        config["CONN_HEALTH_CHECKS"] = True
    config["TEST"] = {"NAME": os.environ.get("LOOPCRM_TEST_DATABASE_NAME") or None}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if env_bool("LOOPCRM_FAST_PASSWORD_HASHER", False):  # tests only: Argon2 costs ~50 ms a hash
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+address after repeated failures.
AXES_FAILURE_LIMIT = int(os.environ.get("LOOPCRM_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = os.environ.get("LOOPCRM_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("LOOPCRM_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if env_bool("LOOPCRM_PLAIN_STATIC", False):  # tests: no collectstatic manifest needed
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = env_bool("LOOPCRM_PLAIN_STATIC", False)
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "loopcrm.web.staticfinders.PackagedAssetFinder",  # plotly.min.js from the plotly package
]
MEDIA_ROOT = DATA_DIR / "media"

# Outgoing mail (ticket replies, survey invitations). With no SMTP server configured, mail is written
# to files in the data directory's outbox/ instead of being lost or failing the request.
EMAIL_HOST = os.environ.get("LOOPCRM_SMTP_HOST", "")
EMAIL_PORT = int(os.environ.get("LOOPCRM_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("LOOPCRM_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("LOOPCRM_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("LOOPCRM_SMTP_STARTTLS", False)
EMAIL_USE_SSL = env_bool("LOOPCRM_SMTP_SSL", False)
EMAIL_TIMEOUT = 20
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "outbox"
DEFAULT_FROM_EMAIL = os.environ.get("LOOPCRM_MAIL_FROM", "LoopCRM Service <service@loopcrm.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The domain in the Message-IDs of outgoing replies; replies to them thread onto the same ticket.
LOOPCRM_MAIL_DOMAIN = os.environ.get("LOOPCRM_MAIL_DOMAIN", "loopcrm.localhost")
# Inbound: the largest mail `loopcrm mail-in` accepts, and the largest file kept on a ticket.
LOOPCRM_MAIL_MAX_BYTES = int(os.environ.get("LOOPCRM_MAIL_MAX_BYTES", str(40 * 1024 * 1024)))
LOOPCRM_ATTACHMENT_MAX_BYTES = int(os.environ.get("LOOPCRM_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
# The public request form: at most LIMIT requests per client address per WINDOW seconds; a form sent
# back faster than MIN_SECONDS after it was shown is treated as a bot.
LOOPCRM_WEBFORM_LIMIT = int(os.environ.get("LOOPCRM_WEBFORM_LIMIT", "5"))
LOOPCRM_WEBFORM_WINDOW = int(os.environ.get("LOOPCRM_WEBFORM_WINDOW", "600"))
LOOPCRM_WEBFORM_MIN_SECONDS = float(os.environ.get("LOOPCRM_WEBFORM_MIN_SECONDS", "3"))

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
if env_bool("LOOPCRM_IMMEDIATE_TASKS", False):
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# Request limits: a documented body cap so oversized bodies get 413, not a slow death.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("LOOPCRM_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# Security headers; cookies are secure whenever we are not in DEBUG (production default).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LOOPCRM_HTTPS = env_bool("LOOPCRM_HTTPS", False)
SESSION_COOKIE_SECURE = LOOPCRM_HTTPS
CSRF_COOKIE_SECURE = LOOPCRM_HTTPS
SECURE_SSL_REDIRECT = LOOPCRM_HTTPS and env_bool("LOOPCRM_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("LOOPCRM_HSTS_SECONDS", "31536000")) if LOOPCRM_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = LOOPCRM_HTTPS
SECURE_HSTS_PRELOAD = LOOPCRM_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("LOOPCRM_BEHIND_PROXY", False) else None

# Domain configuration.
LOOPCRM_DEFAULT_PHONE_REGION = os.environ.get("LOOPCRM_DEFAULT_PHONE_REGION", "CN")
LOOPCRM_API_PAGE_SIZE = 25
LOOPCRM_API_MAX_PAGE_SIZE = 200

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOOPCRM_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
