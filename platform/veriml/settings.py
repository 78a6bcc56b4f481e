"""Django settings for VeriML, read from the environment through the helpers in ``veriml.env``.

Every variable is listed, with its meaning, in ``docker/.env.example``. With nothing set, VeriML
runs on one machine: SQLite and an embedded broker under ``var/``. ``DATABASE_URL`` and
``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from veriml.env import env_bool, env_int, env_list, env_secret, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-never-used-in-production"
    elif "pytest" in sys.modules:
        # A test run must not need a secret in the environment: the provers' tests load these
        # settings too (pytest-django configures Django before any conftest can set variables).
        SECRET_KEY = "insecure-test-key-never-used-in-production"
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off; "
            "for local development set DEBUG=1 or use `make run`."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "veriml.core",
    "veriml.accounts",
    "veriml.registry",
    "veriml.proving",
    "veriml.verification",
    "compliance.audit_log",
    "compliance.privacy",
    "compliance.policy",
    "compliance.hipaa",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "veriml.reports",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "frontend.middleware.IdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its refusal.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "veriml.urls"
WSGI_APPLICATION = "veriml.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# Database

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'veriml.sqlite3'}"
_database = parse_database_url(DATABASE_URL, BASE_DIR)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to one file; wait for the lock instead of failing.
    _database["OPTIONS"] = {"timeout": 20}
else:
    # Fail fast (and let /healthz say so) instead of hanging on an unreachable server.
    _database["OPTIONS"] = {"connect_timeout": 5, **_database["OPTIONS"]}
    _database["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    _database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in security (HIPAA 164.312(a)(2)(iii), (d)): lockout after repeated failures, TOTP
# second factor (required for organisations handling PHI), logoff after idle minutes.
AUTHENTICATION_BACKENDS = [
    "frontend.signin.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 15 * 60)
if SESSION_IDLE_TIMEOUT_SECONDS <= 0:
    raise ImproperlyConfigured("SESSION_IDLE_TIMEOUT_SECONDS must be positive")
OTP_TOTP_ISSUER = "VeriML"
LOGIN_URL = "frontend:signin"
LOGIN_REDIRECT_URL = "frontend:overview"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Files: uploads go through Django storage (local disk by default, S3-compatible in production).

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local").strip().lower()
if STORAGE_BACKEND == "local":
    # The location follows MEDIA_ROOT (and overrides of it in tests).
    _default_storage: dict[str, object] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
    }
elif STORAGE_BACKEND == "s3":
    if importlib.util.find_spec("storages") is None:
        raise ImproperlyConfigured(
            "STORAGE_BACKEND=s3 needs django-storages: pip install 'veriml[s3]'"
        )
    if not env_str("S3_BUCKET"):
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET")
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET"),
            "region_name": env_str("S3_REGION") or None,
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "access_key": env_secret("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_secret("S3_SECRET_ACCESS_KEY") or None,
            "location": env_str("S3_PREFIX"),
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 's3', not {STORAGE_BACKEND!r}")

STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Upload limits, in bytes. A larger upload is refused with 413 and the limit in the message.
MODEL_UPLOAD_MAX_BYTES = env_int("MODEL_UPLOAD_MAX_BYTES", 2 * 1024**3)
CALIBRATION_UPLOAD_MAX_BYTES = env_int("CALIBRATION_UPLOAD_MAX_BYTES", 256 * 1024**2)
DATASET_UPLOAD_MAX_BYTES = env_int("DATASET_UPLOAD_MAX_BYTES", 1024**3)
INPUT_UPLOAD_MAX_BYTES = env_int("INPUT_UPLOAD_MAX_BYTES", 64 * 1024**2)
PROOF_UPLOAD_MAX_BYTES = env_int("PROOF_UPLOAD_MAX_BYTES", 64 * 1024**2)
# Tensor archives (.pt, .npz) are zip files: refuse ones that would unpack to more than this.
TENSOR_FILE_MAX_UNPACKED_BYTES = env_int("TENSOR_FILE_MAX_UNPACKED_BYTES", 2 * 1024**3)
# Uploads above this size are spooled to a temporary file instead of memory; a caller of an
# organisation that handles PHI has them spooled encrypted, never in plaintext
# (compliance/hipaa/uploads.py).
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024**2
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "compliance.hipaa.uploads.PHIUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Cache: holds request-rate counters. Use a shared one (redis://...) when several web
# processes serve the API, or each process counts on its own.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL in ("", "locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured("CACHE_URL must be redis://..., rediss://... or locmem://")

# Security: safe unless DEBUG is on. Behind a TLS-terminating proxy set TRUST_X_FORWARDED_PROTO.

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and container health checks probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"

# REST API

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "veriml.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "veriml.core.pagination.NewestFirstPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "veriml.core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "veriml.core.throttling.AnonymousRateThrottle",
        "veriml.core.throttling.CallerRateThrottle",
    ],
    # Proxies in front of the web server: the client's address is read from X-Forwarded-For
    # past this many of them (0: the connection's own address).
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0) or None,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "60/minute"),
        "caller": env_str("API_THROTTLE_CALLER", "1200/minute"),
    },
    "DEFAULT_RENDERER_CLASSES": (
        ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"]
        if DEBUG
        else ["rest_framework.renderers.JSONRenderer"]
    ),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "VeriML API",
    "DESCRIPTION": "Register models, request proofs of inference and accuracy, verify proofs.",
    "VERSION": "v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "VisibilityEnum": "veriml.registry.models.Visibility",
        "JobKindEnum": "veriml.proving.models.Job.Kind",
        "JobStatusEnum": "veriml.proving.models.Job.Status",
        "ModelStatusEnum": "veriml.registry.models.RegisteredModel.Status",
        "DatasetStatusEnum": "veriml.registry.models.Dataset.Status",
        "CallerKindEnum": ["api_key", "user"],
    },
}

# Celery: the fixed policy (acks_late, queues, serialisation) is in veriml/celery.py; what
# depends on the deployment is here.

JOB_TIME_LIMIT = env_int("JOB_TIME_LIMIT", 4 * 3600)
# The soft limit lets a job record its failure before the hard limit kills the process.
JOB_SOFT_TIME_LIMIT = env_int(
    "JOB_SOFT_TIME_LIMIT", JOB_TIME_LIMIT - min(300, JOB_TIME_LIMIT // 10)
)
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600)
if not 0 < JOB_SOFT_TIME_LIMIT < JOB_TIME_LIMIT:
    raise ImproperlyConfigured("JOB_SOFT_TIME_LIMIT must be positive and below JOB_TIME_LIMIT")
if CELERY_VISIBILITY_TIMEOUT <= JOB_TIME_LIMIT:
    # A message not acknowledged within the visibility timeout is delivered again; with
    # acks_late that would start a second copy of a job that is still running.
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be longer than JOB_TIME_LIMIT")

# The embedded broker is kombu's filesystem transport: it needs no server and, unlike the
# SQLAlchemy transport, supports broadcast, so `control.ping` (and /healthz) reaches the worker.
EMBEDDED_BROKER_URL = "filesystem://localhost//"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or EMBEDDED_BROKER_URL
USES_EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")
EMBEDDED_BROKER_DIR = Path(env_str("EMBEDDED_BROKER_DIR", str(VAR_DIR / "broker")))
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or (
    f"db+sqlite:///{VAR_DIR / 'results.sqlite3'}"
)

# Every worker looks this often for messages taken by a worker that died (delivered longer than
# CELERY_VISIBILITY_TIMEOUT ago and never acknowledged) and puts them back in their queue.
CELERY_UNACKED_RESTORE_SECONDS = env_int("CELERY_UNACKED_RESTORE_SECONDS", 60)
if CELERY_UNACKED_RESTORE_SECONDS <= 0:
    raise ImproperlyConfigured("CELERY_UNACKED_RESTORE_SECONDS must be positive")

CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": CELERY_UNACKED_RESTORE_SECONDS,
    # Scan at every sweep: the interval above is then the only control.
    "unacked_restore_throttle": 1,
}
if USES_EMBEDDED_BROKER:
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        data_folder_in=str(EMBEDDED_BROKER_DIR / "messages"),
        data_folder_out=str(EMBEDDED_BROKER_DIR / "messages"),
        control_folder=str(EMBEDDED_BROKER_DIR / "control"),
        polling_interval=0.5,
    )
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
}
# Lets several deployments (or test runs) share one Redis database without seeing each other.
CELERY_REDIS_KEY_PREFIX = env_str("CELERY_REDIS_KEY_PREFIX")
if CELERY_REDIS_KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = CELERY_REDIS_KEY_PREFIX
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["global_keyprefix"] = CELERY_REDIS_KEY_PREFIX
CELERY_TASK_SOFT_TIME_LIMIT = JOB_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = JOB_TIME_LIMIT

# Limits per kind of work: a soft limit (the work records its failure) below a hard one (the
# worker kills it); each at most JOB_TIME_LIMIT. Memory: the address space a job may map on top
# of what the worker process already uses, in MiB (0: no limit; not applied on CUDA).


def _soft_limit(hard: int) -> int:
    return hard - min(300, hard // 10)


COMPILE_TIME_LIMIT = env_int("COMPILE_TIME_LIMIT", min(3600, JOB_TIME_LIMIT))
INFERENCE_TIME_LIMIT = env_int("INFERENCE_TIME_LIMIT", min(3600, JOB_TIME_LIMIT))
AUDIT_TIME_LIMIT = env_int("AUDIT_TIME_LIMIT", JOB_TIME_LIMIT)
DATASET_TIME_LIMIT = env_int("DATASET_TIME_LIMIT", min(1800, JOB_TIME_LIMIT))
for _name in (
    "COMPILE_TIME_LIMIT",
    "INFERENCE_TIME_LIMIT",
    "AUDIT_TIME_LIMIT",
    "DATASET_TIME_LIMIT",
):
    if not 0 < globals()[_name] <= JOB_TIME_LIMIT:
        raise ImproperlyConfigured(f"{_name} must be positive and at most JOB_TIME_LIMIT")
COMPILE_SOFT_TIME_LIMIT = _soft_limit(COMPILE_TIME_LIMIT)
INFERENCE_SOFT_TIME_LIMIT = _soft_limit(INFERENCE_TIME_LIMIT)
AUDIT_SOFT_TIME_LIMIT = _soft_limit(AUDIT_TIME_LIMIT)
DATASET_SOFT_TIME_LIMIT = _soft_limit(DATASET_TIME_LIMIT)
COMPILE_MEMORY_LIMIT_MB = env_int("COMPILE_MEMORY_LIMIT_MB", 16 * 1024)
INFERENCE_MEMORY_LIMIT_MB = env_int("INFERENCE_MEMORY_LIMIT_MB", 32 * 1024)
AUDIT_MEMORY_LIMIT_MB = env_int("AUDIT_MEMORY_LIMIT_MB", 64 * 1024)
DATASET_MEMORY_LIMIT_MB = env_int("DATASET_MEMORY_LIMIT_MB", 8 * 1024)
# A prefork worker child is replaced after a task that left it above this resident size (KiB).
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 0) or None

# A running task marks its row alive every WORK_HEARTBEAT_SECONDS; a re-delivered message takes
# the work over when the mark is older than WORK_STALE_SECONDS, at most WORK_MAX_ATTEMPTS times.
WORK_HEARTBEAT_SECONDS = env_int("WORK_HEARTBEAT_SECONDS", 15)
WORK_STALE_SECONDS = env_int("WORK_STALE_SECONDS", 120)
WORK_MAX_ATTEMPTS = env_int("WORK_MAX_ATTEMPTS", 3)
if WORK_STALE_SECONDS <= 2 * WORK_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("WORK_STALE_SECONDS must exceed twice WORK_HEARTBEAT_SECONDS")
# A model registered with private weights (an MLP) is committed hidden for this many
# zero-knowledge proofs unless its upload names its own budget (``proof_budget``); the prover
# refuses a budget larger than the model's weights can hide, and the registration fails.
PRIVATE_WEIGHT_PROOFS = env_int("PRIVATE_WEIGHT_PROOFS", 16)
if PRIVATE_WEIGHT_PROOFS <= 0:
    raise ImproperlyConfigured("PRIVATE_WEIGHT_PROOFS must be positive")
# Audit log: checkpoints of the hash chain are signed with this Ed25519 key (PEM or a base64
# 32-byte seed). Development and test runs without one generate a key once under VAR_DIR.
AUDIT_SIGNING_KEY = env_secret("AUDIT_SIGNING_KEY")
AUDIT_SIGNING_KEY_GENERATE = DEBUG or "pytest" in sys.modules
AUDIT_SIGNING_KEY_PATH = VAR_DIR / "audit-signing-key.pem"
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 3600)
if AUDIT_CHECKPOINT_SECONDS <= 0:
    raise ImproperlyConfigured("AUDIT_CHECKPOINT_SECONDS must be positive")
# Audit records (the audit log, PHI accesses, policy decisions, privacy changes) are never
# deleted; this is the period they must at least be kept, which HIPAA sets at six years
# (45 CFR 164.316(b)(2)(i)).
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 6 * 365)
if AUDIT_RETENTION_DAYS < 6 * 365:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least six years (2190 days)")
# PHI at rest (compliance/hipaa): AES-256 master keys wrapping each organisation's data key, as
# "id:base64-of-32-bytes" entries, comma-separated, newest last. Development and test runs
# without them generate one under VAR_DIR.
PHI_MASTER_KEYS = env_secret("PHI_MASTER_KEYS")
PHI_MASTER_KEYS_GENERATE = DEBUG or "pytest" in sys.modules
PHI_MASTER_KEYS_PATH = VAR_DIR / "phi-master-keys"
PHI_BREAK_GLASS_MAX_MINUTES = env_int("PHI_BREAK_GLASS_MAX_MINUTES", 240)
# A folder on a memory file system (tmpfs) for what a worker's prover writes from PHI; a worker
# refuses PHI work whose folder is on a disk (veriml.core.workspace).
PHI_WORK_DIR = env_str("PHI_WORK_DIR", "/dev/shm")
# Beat deletes data past its region's retention period (compliance/policy/regions.py) this often.
RETENTION_ENFORCE_SECONDS = env_int("RETENTION_ENFORCE_SECONDS", 24 * 3600)
if RETENTION_ENFORCE_SECONDS <= 0:
    raise ImproperlyConfigured("RETENTION_ENFORCE_SECONDS must be positive")
# Beat sends again the work of workers that died without their message coming back.
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-jobs": {
        "task": "veriml.proving.tasks.requeue_stale_jobs",
        "schedule": float(WORK_STALE_SECONDS),
    },
    "requeue-stale-registry-work": {
        "task": "veriml.registry.tasks.requeue_stale_work",
        "schedule": float(WORK_STALE_SECONDS),
    },
    "audit-checkpoint": {
        "task": "compliance.audit_log.tasks.write_audit_checkpoint",
        "schedule": float(AUDIT_CHECKPOINT_SECONDS),
    },
    "enforce-retention": {
        "task": "compliance.policy.tasks.enforce_retention",
        "schedule": float(RETENTION_ENFORCE_SECONDS),
    },
}

# Job callbacks: a signed POST when a job ends.
CALLBACK_TIMEOUT_SECONDS = env_int("CALLBACK_TIMEOUT_SECONDS", 5)
# Off in production: a callback URL naming a private, loopback or link-local address is refused.
CALLBACK_ALLOW_PRIVATE_NETWORKS = env_bool("CALLBACK_ALLOW_PRIVATE_NETWORKS", False)

HEALTHZ_WORKER_PING_TIMEOUT = 2.0

# Logging

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
