"""Settings, read from the environment (see .env.example for every variable).

DEBUG defaults to true for local work on the embedded SQLite database. DEBUG=false is the
production configuration: it requires a strong SECRET_KEY and ALLOWED_HOSTS and turns on the
HTTPS protections expected behind a TLS-terminating proxy.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice_map, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET = "dev-only-secret-do-not-use-in-production-3f9a1c7e5b2d8046"  # noqa: S105 - refused when DEBUG=false
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else None)
if not DEBUG and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("With DEBUG=false, SECRET_KEY must be a random string of 50+ characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("With DEBUG=false, ALLOWED_HOSTS must name the site's host names.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.apps.AdminConfig",  # django.contrib.admin with the project's site (sections, dashboard)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "django_q",
    "axes",
    "profiles",
    "audiences",
    "campaigns",
    "channels",
    # Last: its post_migrate hook (roles) needs every app's permissions to exist.
    "config.apps.ConfigConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RefuseUnstorableText",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://user@host:5432/name) or the embedded SQLite file.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'orchestrator.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while the worker writes; IMMEDIATE transactions take the
    # write lock up front, so two writers queue on the busy timeout instead of deadlocking.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: shared by every process when CACHE_URL=redis://host:6379/1 (API throttle counters live
# here, so a deployment with several processes or machines must set it); else local memory.
_cache_url = env_str("CACHE_URL", "")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
elif _cache_url in ("", "locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL={_cache_url!r}: use redis://host:port/db, rediss://... or locmem://.")
CACHES["default"]["KEY_PREFIX"] = "orchestrator"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Proxies in front of the site that append to X-Forwarded-For (1 for one TLS-terminating proxy).
# 0 trusts no header: every client is REMOTE_ADDR, which behind a proxy is the proxy itself.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# Login throttling (django-axes): LOGIN_FAILURE_LIMIT failed logins for one username from one
# address lock that pair out for LOGIN_COOLOFF_MINUTES; a successful login clears the count.
AUTHENTICATION_BACKENDS = [
    "config.auth.LoginAttemptsBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.auth.client_ip"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
# One date format across the admin ("1 Dec 2026, 09:30"): config/formats/en/formats.py.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_AUTOREFRESH = DEBUG  # development: serve what the finders see, no collectstatic needed
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Email (used by the email channel and by alerts).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "campaigns@localhost")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# HTTPS behind a TLS-terminating proxy that sets X-Forwarded-Proto.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["config.api.permissions.ModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.IdCursorPagination",
    # Rates: API_THROTTLE_USER / API_THROTTLE_ANON below, read on every request (tests override them).
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.UserRateThrottle", "config.throttling.AnonRateThrottle"],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # JSON bodies are parsed with a nesting limit (JSON_MAX_DEPTH): a deep body is a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": [
        "config.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",  # documents the error answers too
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Campaign orchestration API",
    "DESCRIPTION": "Profiles, consent, audiences and campaigns. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConsentStatusEnum": "profiles.models.consent.ConsentStatus",
        "BookingStatusEnum": "profiles.models.entities.Booking.Status",
        "SubscriptionStatusEnum": "profiles.models.entities.Subscription.Status",
    },
}
# API throttling, per token (or session user) and per anonymous address: "<n>/<second|minute|hour|day>",
# or "off". 100 a second per user is far above what bulk ingestion needs (1,000 records a request
# at ~17,000 records a second is ~17 requests a second) and keeps DRF's per-user request history,
# one timestamp per request in the window, small. Answers 429 with Retry-After.
API_THROTTLE_USER = env_rate("API_THROTTLE_USER", "100/second")
API_THROTTLE_ANON = env_rate("API_THROTTLE_ANON", "60/minute")
# Largest number of records accepted by one bulk request (larger envelopes answer 413).
BULK_MAX_RECORDS = env_int("BULK_MAX_RECORDS", 1000, minimum=1)
# Largest file the admin's import page takes (it imports during the request); larger files go
# through the import_data command.
ADMIN_IMPORT_MAX_BYTES = env_int("ADMIN_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 20 * 1024 * 1024, minimum=1024)
# Deepest nesting of arrays and objects accepted in a JSON body, a JSON Lines record or a JSON
# field (deeper answers 400 / rejects the line); rules have their own, smaller limit.
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 64, minimum=8)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Profiles: the region assumed for phone numbers written without a country code when the record
# names no country (ISO 3166 alpha-2, e.g. "PT"); empty means such numbers are rejected.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "")

# Consent: what each channel needs before a profile may be contacted (profiles/reachability.py):
# "opted_in" (an explicit opt-in) or "not_opted_out" (anyone who has not opted out). A JSON object
# naming the channels to change, e.g. {"email": "opted_in"}; the others keep these defaults.
CONSENT_POLICY = env_choice_map(
    "CONSENT_POLICY",
    {"email": "not_opted_out", "sms": "opted_in", "push": "opted_in", "direct_mail": "not_opted_out"},
    ("opted_in", "not_opted_out"),
)

# Background work: django-q2. The ORM broker (the database itself) by default; Redis when
# Q_BROKER_URL=redis://... is set. timeout < retry, so a task is never handed out twice while running.
_q_broker = env_str("Q_BROKER_URL", "")
Q_CLUSTER = {
    "name": "orchestrator",
    "workers": env_int("Q_WORKERS", 1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 2, minimum=1),
    "timeout": env_int("Q_TIMEOUT", 120, minimum=1),
    "retry": env_int("Q_RETRY", 180, minimum=2),
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 1000,
    "ack_failures": True,
    "sync": env_bool("Q_SYNC", False),
    "label": "Background tasks",
}
if _q_broker.startswith("redis://") or _q_broker.startswith("rediss://"):
    Q_CLUSTER["redis"] = _q_broker
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["timeout"] >= Q_CLUSTER["retry"]:
    raise ImproperlyConfigured("Q_TIMEOUT must be lower than Q_RETRY.")

# Audiences: PostgreSQL work_mem for evaluation transactions (measured best in bench B1/B4), how many snapshots each audience keeps, and how old an unused population must be
# before `purge_populations` deletes it.
AUDIENCE_EVALUATION_WORK_MEM = env_str("AUDIENCE_EVALUATION_WORK_MEM", "16MB")
AUDIENCE_SNAPSHOTS_KEPT = env_int("AUDIENCE_SNAPSHOTS_KEPT", 5, minimum=1)
# Time limits of one SQL statement of a preview (the count and sample behind "Count") and of an
# evaluation ("Calculate", schedules, campaigns), in milliseconds (for previews, 0 means none). A
# rule that runs longer is stopped with a message that says so.
AUDIENCE_PREVIEW_TIMEOUT_MS = env_int("AUDIENCE_PREVIEW_TIMEOUT_MS", 10_000, minimum=0)
# An evaluation on the workers must stop itself (failing its snapshot with the message) before
# the worker kills it at Q_TIMEOUT (which leaves no message): by default 15 s before.
AUDIENCE_EVALUATION_TIMEOUT_MS = env_int(
    "AUDIENCE_EVALUATION_TIMEOUT_MS", max(Q_CLUSTER["timeout"] - 15, 1) * 1000, minimum=0
)
if not 0 < AUDIENCE_EVALUATION_TIMEOUT_MS < Q_CLUSTER["timeout"] * 1000:
    raise ImproperlyConfigured(
        f"AUDIENCE_EVALUATION_TIMEOUT_MS={AUDIENCE_EVALUATION_TIMEOUT_MS} must be between 1 and "
        f"Q_TIMEOUT x 1000 ({Q_CLUSTER['timeout'] * 1000}): the workers stop a task at Q_TIMEOUT."
    )
POPULATION_RETENTION_HOURS = env_int("POPULATION_RETENTION_HOURS", 24, minimum=1)

# Health: a worker counts as alive if its heartbeat is younger than this many seconds.
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 180, minimum=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
