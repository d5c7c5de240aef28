"""Settings shared by every environment.

Everything configurable comes from environment variables (django-environ); each one is
listed in README.md and `.env.example`. Environment modules (`local`, `test`,
`production`) only override what differs.
"""

from pathlib import Path

import environ

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local `.env` is a convenience for development; real deployments set the environment.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")

# --- Tenancy ---------------------------------------------------------------------------
# Organisations live at <slug>.<BASE_DOMAIN>; the root domain serves the platform.
BASE_DOMAIN = env("TESSERA_BASE_DOMAIN", default="localhost")
# "http" in development, "https" behind a TLS-terminating proxy in production.
SITE_SCHEME = env("TESSERA_SITE_SCHEME", default="http")
# Port shown in links printed to people (dev server runs on 8000); empty in production.
SITE_PORT = env("TESSERA_SITE_PORT", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}"])

# https://django-tenants.readthedocs.io/en/latest/install.html
TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
# One `SET search_path` per request instead of one per cursor (django-tenants docs,
# "Performance"): measured 4 -> 2 statements on a one-query request.
TENANT_LIMIT_SET_CALLS = True
# How many pre-migrated spare schemas sign-up can claim without waiting for migrations.
TENANT_SPARE_POOL_SIZE = env.int("TESSERA_SPARE_POOL_SIZE", default=3)
# New schemas are copies of this migrated template schema (not an organisation), kept
# current by migrate_tenants and the pool job (docs/operations.md, "The template schema").
TENANT_TEMPLATE_SCHEMA = "tessera_template"
# Host -> tenant lookups are cached this long (and invalidated when a domain or
# organisation changes).
TENANT_HOST_CACHE_SECONDS = env.int("TESSERA_HOST_CACHE_SECONDS", default=300)

SHARED_APPS = [
    "django_tenants",
    "shared_apps.core",
    "shared_apps.tenants",
    "shared_apps.accounts",
    "shared_apps.billing",
    # In both lists: public keeps the platform's audit log, each schema its own (docs/audit.md).
    "shared_apps.audit",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    # Full-text search and trigram lookups (no tables).
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    # JSON log-in, log-out, session, email verification, password reset (docs/api.md).
    "allauth.headless",
    # Two-factor authentication: authenticator-app codes (TOTP) and recovery codes; its
    # table lives in public, like the users (docs/account.md).
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The web application (DESIGN.md section 10): htmx's packaged script and request
    # details, named template fragments, the Content-Security-Policy header.
    "django_htmx",
    "template_partials",
    "csp",
]
TENANT_APPS = [
    # Each schema keeps its own content types; `auth` stays public-only so product roles
    # never resolve to per-tenant auth tables (DESIGN.md section 3).
    "django.contrib.contenttypes",
    "shared_apps.audit",
    "tenant_apps.members",
    "tenant_apps.projects",
    "tenant_apps.tasks",
    "tenant_apps.notifications",
    "tenant_apps.reports",
    # Custom fields of projects (issue 15 item 4) and saved views (item 6).
    "tenant_apps.fields",
    "tenant_apps.savedviews",
    # CSV import of tasks into a project (upload, map, preview, background job).
    "tenant_apps.imports",
    # Time entries on tasks (issue 15, item 5).
    "tenant_apps.timetracking",
    # The web application's shell, home page, search and live-update checks (no tables).
    "tenant_apps.workspace",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

MIDDLEWARE = [
    # Answers /healthz on any host, before tenant resolution and ALLOWED_HOSTS.
    "shared_apps.core.middleware.HealthCheckMiddleware",
    # A NUL in the path, query string or cookies is a 400 before any lookup uses it.
    "shared_apps.core.middleware.NulCharacterGuardMiddleware",
    "shared_apps.tenants.middleware.TenantMiddleware",
    # The client's IP and user agent for the audit entries this request's writes make.
    "shared_apps.audit.context.AuditContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Open pages poll for changes every few seconds: answered here, from the cache alone.
    "tenant_apps.tasks.live.LiveCheckMiddleware",
    # Each cache namespace's version read once a request, the common ones in one round
    # trip (after the live poll, which reads only its own).
    "shared_apps.core.cache_namespaces.CacheVersionsMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shared_apps.core.middleware.UserLanguageMiddleware",
    "shared_apps.tenants.middleware.SuspendedOrganizationMiddleware",
    # Past due beyond the grace period: the organisation's API answers writes with 402.
    "shared_apps.billing.middleware.BillingReadOnlyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # An organisation that requires two-factor authentication leads members without it to
    # set it up; its API answers their session requests 403 two_factor_required.
    "shared_apps.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # request.htmx: pages answer an htmx request with the fragment it asked for.
    # https://django-htmx.readthedocs.io/en/latest/middleware.html
    "django_htmx.middleware.HtmxMiddleware",
    # https://django-csp.readthedocs.io/en/latest/configuration.html
    "csp.middleware.CSPMiddleware",
    # Pages: a service's ValidationError nobody handled is a 400 page, not a 500.
    "shared_apps.core.pages.ServiceErrorMiddleware",
]

# A strict Content-Security-Policy: scripts and styles only from our own static files (no
# inline scripts or style attributes, nothing from another host), no framing, forms post
# only here. Images may be data: URIs (the sanitised Markdown never produces them, but
# attachment thumbnails in the future may). Swagger UI/Redoc relax style-src alone
# (config/urls_*.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        # Browsers apply form-action to the redirect after a POST too: logging in on the
        # root domain lands in the organisation's domain (and logging out may go back).
        "form-action": ["'self'", f"{SITE_SCHEME}://{BASE_DOMAIN}:*", f"{SITE_SCHEME}://*.{BASE_DOMAIN}:*"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% partialdef %} / {% partial %} in every template (django-template-partials).
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                # The web application's shell: organisation, switcher, unread count, nav.
                "tenant_apps.workspace.context_processors.shell",
                # The account pages' layout: the shell on an organisation's domain.
                "shared_apps.accounts.context_processors.account_layout",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- Database --------------------------------------------------------------------------
# platform/dev.py sets DATABASE_URL to the embedded PostgreSQL when it is not given; without
# it (manage.py run by hand) the same embedded service is the default, on TESSERA_PG_PORT.
DATABASES = {"default": env.db("DATABASE_URL", default=embedded.database_url())}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# work_mem for every connection of the app (set once per new connection, see
# shared_apps/core/apps.py; empty leaves the server's). PostgreSQL's default 4MB makes
# the bitmaps of a search over a million tasks lossy: every row of a lossy page is then
# rechecked, trigram similarity included (docs/benchmarks.md, "Task list").
# https://www.postgresql.org/docs/current/runtime-config-resource.html#GUC-WORK-MEM
DATABASE_WORK_MEM = env("TESSERA_DB_WORK_MEM", default="16MB")
# At start-up gunicorn, Celery workers and beat check that session state survives between
# transactions and refuse to start behind a transaction-pooling pooler (config/pooler.py).
TESSERA_POOLER_CHECK = env.bool("TESSERA_POOLER_CHECK", default=True)
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker ----------------------------------------------------
REDIS_URL = env("REDIS_URL", default=embedded.redis_url())
CACHES = {
    "default": {
        "BACKEND": "shared_apps.core.cache.ResilientRedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        # Every key is prefixed with the current schema: tenants never read each
        # other's entries (django-tenants docs, "Caching"); only allauth's rate-limit
        # counters are platform-wide (see the function).
        "KEY_FUNCTION": "shared_apps.core.cache.make_key",
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="tessera"),
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
    # Platform-level entries (host -> organisation): the same key whatever schema is
    # active, so a change made inside a tenant context still invalidates them.
    "platform": {
        "BACKEND": "shared_apps.core.cache.ResilientRedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="tessera") + "-platform",
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
}

# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_RESULT_EXPIRES = 3600
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged after it ran, and re-queued if its worker dies mid-task: tasks
# must therefore be idempotent (DESIGN.md section 5).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="tessera")
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that lost Redis keeps reconnecting (the default gives up after 100 attempts)
# and, on losing it, stops its acks_late tasks: their acknowledgement could not reach the
# new connection, so they are delivered again anyway (tasks are idempotent).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Redis transport with the fix in config/broker.py (a lost connection must not crash the
# worker); any other broker URL keeps kombu's transport for its scheme.
CELERY_BROKER_TRANSPORT = "config.broker:Transport" if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else None
# A task sent while the broker is down fails fast instead of blocking the web request;
# the outbox re-dispatch job catches up (DESIGN.md section 5).
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Keep Django's LOGGING (every line names its schema) in workers too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# tenant-schemas-celery: a worker keeps schema -> tenant lookups this long.
CELERY_TASK_TENANT_CACHE_SECONDS = 60
CELERY_BEAT_SCHEDULER = "config.beat:TesseraBeatScheduler"
CELERY_BEAT_SCHEDULE = {
    "tenants-refill-spare-pool": {
        "task": "tenants.spare_pool_fill",
        "schedule": 60.0,
        # Runs once, in public (not once per organisation).
        "tenant_schemas": ["public"],
    },
    # The outbox safety net, lost report messages and dead report workers, expired
    # reports, weekly schedules, due-soon reminders: once a minute, in public, for the
    # organisations with such work due only (a `PendingWork` row written with the work);
    # idle organisations cost nothing. Once a day every organisation is checked for work
    # left without its mark, as a backstop (tenant_apps/notifications/periodic.py,
    # docs/scaling.md; ~66 ms an organisation on a loaded 2-core machine).
    "periodic-sweep": {
        "task": "periodic.sweep",
        "schedule": env.float("TESSERA_PERIODIC_SWEEP_SECONDS", default=60.0),
        "tenant_schemas": ["public"],
    },
    "periodic-backstop": {
        "task": "periodic.backstop",
        "schedule": env.float("TESSERA_PERIODIC_BACKSTOP_SECONDS", default=24 * 3600.0),
        "tenant_schemas": ["public"],
    },
    # Audit retention (TESSERA_AUDIT_RETENTION_DAYS) in public; organisations' entries are
    # swept by the daily periodic backstop, which visits every organisation anyway.
    "audit-sweep-public": {"task": "audit.sweep", "schedule": 24 * 3600.0, "tenant_schemas": ["public"]},
    # Reports whose worker died, sent again within a minute (tenant_apps/reports/services/sweep.py).
    "reports-requeue-stale": {
        "task": "reports.requeue_stale",
        "schedule": env.float("TESSERA_REPORT_STALE_CHECK_SECONDS", default=10.0),
        "tenant_schemas": ["public"],
    },
    "billing-expire-trials": {
        "task": "billing.trials_expire",
        "schedule": 3600.0,
        # Platform data (public schema): once, not once per organisation.
        "tenant_schemas": ["public"],
    },
}

# --- Notifications (DESIGN.md section 5) ---------------------------------------------
# Emails wait this long so that several notifications become one digest (0: send each).
NOTIFICATIONS_EMAIL_DIGEST_SECONDS = env.int("TESSERA_EMAIL_DIGEST_SECONDS", default=120)
# Email and webhook attempts before a delivery is marked failed; retries back off
# exponentially from the base delay.
NOTIFICATIONS_MAX_ATTEMPTS = env.int("TESSERA_DELIVERY_MAX_ATTEMPTS", default=6)
NOTIFICATIONS_RETRY_BACKOFF_SECONDS = env.int("TESSERA_DELIVERY_BACKOFF_SECONDS", default=30)
# Events still unprocessed this long after commit are sent to the workers again.
NOTIFICATIONS_REDISPATCH_SECONDS = env.int("TESSERA_OUTBOX_REDISPATCH_SECONDS", default=60)
# A worker claims at most this many events of one organisation per transaction
# (docs/notifications.md, "Batches").
NOTIFICATIONS_BATCH_SIZE = env.int("TESSERA_NOTIFY_BATCH_SIZE", default=200)
# "Due soon" means due within this many hours.
NOTIFICATIONS_DUE_SOON_HOURS = env.int("TESSERA_DUE_SOON_HOURS", default=24)
# Webhooks to private/loopback addresses are refused unless this is set (SSRF guard).
NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = env.bool("TESSERA_WEBHOOK_ALLOW_PRIVATE", default=False)
NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS = env.float("TESSERA_WEBHOOK_TIMEOUT", default=5.0)

# --- Auth ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

# django-allauth: email is the login, no usernames; a verified email is required.
# https://docs.allauth.org/en/latest/account/configuration.html
ACCOUNT_ADAPTER = "shared_apps.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_FORMS = {"signup": "shared_apps.tenants.forms.OrganizationSignupForm"}
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_UNIQUE_EMAIL = True
# Sign-up says plainly that an email is already registered (and to log in instead):
# creating an organisation for an existing account would otherwise fail silently.
ACCOUNT_PREVENT_ENUMERATION = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Tessera] "
# allauth's defaults throttle failed logins per IP and per account; kept explicit here.
# Behind N reverse proxies the client address is the N-th from the right in
# X-Forwarded-For; 0 trusts only REMOTE_ADDR. Used by every per-address rate limit.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TESSERA_TRUSTED_PROXY_COUNT", default=0)
# allauth's headless API at /_allauth/{browser,app}/v1/ on the root and organisation
# domains: the same accounts, flows and rate limits as the HTML forms. Email links keep
# pointing at the HTML pages (no HEADLESS_FRONTEND_URLS); sign-up stays POST /api/v1/signup/.
# https://docs.allauth.org/en/latest/headless/configuration.html
HEADLESS_CLIENTS = ("browser", "app")
# allauth.mfa: the login asks for a code once a person has set up an authenticator
# (the HTML login and the headless API's "mfa_authenticate" flow alike).
# https://docs.allauth.org/en/latest/mfa/configuration.html
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# Security keys (WebAuthn) as a second factor, bound to BASE_DOMAIN so one key serves the
# root domain and every organisation (shared_apps.accounts.adapter.webauthn_rp_id).
MFA_ADAPTER = "shared_apps.accounts.adapter.MFAAdapter"
MFA_TOTP_ISSUER = "Tessera"
# A code of the time step before or after the current one is accepted too (clock drift
# between phone and server; RFC 6238 section 5.2 recommends at most one step).
MFA_TOTP_TOLERANCE = 1
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
}


# One login serves the root domain and the organisation subdomains (identity issue:
# "sessions work across the org subdomains"); access to an organisation is still decided
# by its Membership on every request.
def session_cookie_domain(base_domain: str) -> str | None:
    """`.example.com` for `example.com`; none for `localhost`, whose subdomains browsers
    will not share a cookie across."""
    return None if base_domain == "localhost" else f".{base_domain}"


SESSION_COOKIE_DOMAIN = env("SESSION_COOKIE_DOMAIN", default=None) or session_cookie_domain(BASE_DOMAIN)
# Sessions are read from Redis and written through to the database: one query less on
# every request (https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cached-sessions).
# The `platform` alias is not schema-prefixed: one session serves the root and every
# organisation domain, so logging out anywhere ends it everywhere.
SESSION_ENGINE = "shared_apps.accounts.sessions"
# A session stays in the cache at most this long; the database (where logout always
# lands, even with Redis down) decides after that.
SESSION_CACHE_SECONDS = env.int("TESSERA_SESSION_CACHE_SECONDS", default=300)
SESSION_CACHE_ALIAS = "platform"
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS",
    default=[f"{SITE_SCHEME}://{BASE_DOMAIN}", f"{SITE_SCHEME}://*.{BASE_DOMAIN}"],
)

# --- API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF then answers unauthenticated requests 401 with
    # `WWW-Authenticate: Token` (session auth alone can only say 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "shared_apps.accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested deeper than shared_apps.core.parsers.JSON_MAX_DEPTH is a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": [
        "shared_apps.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # drf-spectacular's, plus every operation's error responses (shared_apps/core/openapi.py).
    "DEFAULT_SCHEMA_CLASS": "shared_apps.core.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    # Services' refusals that carry their own status (402 plan limit, 409, 503) become
    # JSON answers; everything else is DRF's own handling.
    "EXCEPTION_HANDLER": "shared_apps.core.api.exception_handler",
    "PAGE_SIZE": 50,
}
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": "Multi-tenant project and task management.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc are served from the sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The default enum hook, then 402 on the organisation API's writes (billing read-only).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "shared_apps.core.openapi.billing_read_only_hook",
    ],
    # Choice sets used by several serializers (or sharing a field name) get one name each.
    "ENUM_NAME_OVERRIDES": {
        "EventKindEnum": "tenant_apps.notifications.models.EventKind",
        "DeliveryStatusEnum": "tenant_apps.notifications.models.DeliveryStatus",
        "TaskStatusEnum": "tenant_apps.tasks.models.TaskStatus",
        "ReportStatusEnum": "tenant_apps.reports.models.Report.Status",
        "ReportKindEnum": "tenant_apps.reports.models.Report.Kind",
        "ImportStatusEnum": "tenant_apps.imports.models.TaskImport.Status",
        "ImportModeEnum": "tenant_apps.imports.models.TaskImport.Mode",
        "SubscriptionStatusEnum": "shared_apps.billing.models.Subscription.Status",
        "CustomFieldKindEnum": "tenant_apps.fields.models.FieldKind",
        "SavedViewLayoutEnum": "tenant_apps.savedviews.models.ViewLayout",
        # Relations (issue 15): the kinds as seen from either end.
        "TaskRelationKindEnum": "tenant_apps.tasks.serializers.RELATION_KIND_CHOICES",
    },
}

# --- i18n ------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("TESSERA_STATIC_ROOT", default=str(BASE_DIR / ".data" / "static")))
# The web application's stylesheet and ES modules (static/css, static/js).
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed names (tessera.3f2a.css) with gzip/brotli copies; WhiteNoise serves them with a
# year-long Cache-Control. With DEBUG (make run) names stay unhashed and runserver serves
# them from the source folders; tests use plain storage (config/settings/test.py).
# https://whitenoise.readthedocs.io/en/stable/django.html#add-compression-and-caching-support
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("TESSERA_MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
# Largest attachment accepted; bigger uploads get 413 before their body is stored.
TESSERA_ATTACHMENT_MAX_BYTES = env.int("TESSERA_ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024)

# --- Email -----------------------------------------------------------------------------
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Tessera <noreply@localhost>")
# Seconds an SMTP connection may block (a worker holds a delivery row while it sends).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Health ----------------------------------------------------------------------------
# Seconds /healthz waits for a Celery worker to answer its ping.
HEALTH_CELERY_TIMEOUT = env.float("TESSERA_HEALTH_CELERY_TIMEOUT", default=1.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"format": "%(asctime)s %(levelname)s %(name)s [%(schema)s] %(message)s"},
    },
    "filters": {"schema": {"()": "shared_apps.core.logging.SchemaFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["schema"]},
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# Shared apps write tenant-local Member rows through this function (run inside the
# organisation's schema), never by importing tenant apps.
TESSERA_MEMBER_SYNC = "tenant_apps.members.services.member_sync"
# Audit entries older than this many days are deleted daily (audit.sweep in public, the
# periodic backstop in every organisation).
TESSERA_AUDIT_RETENTION_DAYS = env.int("TESSERA_AUDIT_RETENTION_DAYS", default=400)

# Migrations: an index on a table smaller than this is built plainly under the rollout's
# lock_timeout, a larger one CONCURRENTLY (shared_apps/core/migration_operations.py).
TESSERA_PLAIN_INDEX_MAX_BYTES = env.int("TESSERA_PLAIN_INDEX_MAX_BYTES", default=16 * 1024 * 1024)

# Days an invitation link stays valid.
TESSERA_INVITATION_DAYS = env.int("TESSERA_INVITATION_DAYS", default=7)

# --- Reports (tenant_apps/reports; docs/api.md "Reports") -------------------------------
# Days a generated report (file and row) is kept before the sweep deletes it.
TESSERA_REPORT_RETENTION_DAYS = env.int("TESSERA_REPORT_RETENTION_DAYS", default=7)
# Longest period a report may cover.
TESSERA_REPORT_MAX_YEARS = env.int("TESSERA_REPORT_MAX_YEARS", default=3)
# A queued report last handed to the broker this long ago is sent again.
TESSERA_REPORT_REDISPATCH_SECONDS = env.int("TESSERA_REPORT_REDISPATCH_SECONDS", default=120)
# A running report without a progress heartbeat for this long lost its worker.
TESSERA_REPORT_STALE_SECONDS = env.int("TESSERA_REPORT_STALE_SECONDS", default=45)
# A running report's worker refreshes its heartbeat this often (a thread: the query and
# the file save count too); keep it well under TESSERA_REPORT_STALE_SECONDS.
TESSERA_REPORT_HEARTBEAT_SECONDS = env.float("TESSERA_REPORT_HEARTBEAT_SECONDS", default=10.0)
# How often beat looks for running reports whose worker died (only in organisations with
# a report running): stale + this is the longest a dead worker's report waits.
TESSERA_REPORT_STALE_CHECK_SECONDS = env.float("TESSERA_REPORT_STALE_CHECK_SECONDS", default=10.0)
# Starts before a report whose worker keeps dying is marked failed.
TESSERA_REPORT_MAX_ATTEMPTS = env.int("TESSERA_REPORT_MAX_ATTEMPTS", default=3)

# --- CSV import (tenant_apps/imports; docs/imports.md) ----------------------------------
# Largest CSV file accepted (bytes): refused with 413 while it streams in.
TESSERA_IMPORT_MAX_BYTES = env.int("TESSERA_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
# Most data rows one file may hold.
TESSERA_IMPORT_MAX_ROWS = env.int("TESSERA_IMPORT_MAX_ROWS", default=50_000)
# Rows inserted per bulk_create (and per progress update).
TESSERA_IMPORT_BATCH_SIZE = env.int("TESSERA_IMPORT_BATCH_SIZE", default=1000)
# An uploaded file never started is deleted (the import fails) after this many hours.
TESSERA_IMPORT_UPLOAD_TTL_HOURS = env.float("TESSERA_IMPORT_UPLOAD_TTL_HOURS", default=24.0)
# A queued or running import without progress for this many minutes is sent to a worker
# again (its message was lost, or its worker died); a run in progress elsewhere is
# never doubled (the run holds an advisory lock).
TESSERA_IMPORT_REDISPATCH_MINUTES = env.float("TESSERA_IMPORT_REDISPATCH_MINUTES", default=10.0)
# Starts before an import whose worker keeps dying is marked failed.
TESSERA_IMPORT_MAX_ATTEMPTS = env.int("TESSERA_IMPORT_MAX_ATTEMPTS", default=3)
# Dotted paths of callables `provider(project) -> [tenant_apps.imports.targets.Target]`:
# fields other apps let a CSV column fill (custom fields), docs/imports.md.
TESSERA_IMPORT_TARGET_PROVIDERS: list[str] = []
# Weekly scheduled reports larger than this are mailed as a link, not an attachment.
TESSERA_REPORT_EMAIL_MAX_BYTES = env.int("TESSERA_REPORT_EMAIL_MAX_BYTES", default=10 * 1024 * 1024)

# --- Billing (Stripe) ------------------------------------------------------------------
# docs/billing.md. Without a secret key billing is disabled: every organisation is
# unlimited, checkout and portal answer 503, /healthz and the admin say so.
# https://docs.stripe.com/keys
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
# Signing secret of the webhook endpoint (`whsec_...`); webhooks answer 503 without it.
# https://docs.stripe.com/webhooks#verify-official-libraries
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
# Stripe price ids of the paid plans, used when the plan's own `stripe_price_id` (editable
# in the admin) is empty. https://docs.stripe.com/products-prices/how-products-and-prices-work
STRIPE_PRICE_IDS = {
    "team": env("STRIPE_PRICE_TEAM", default=""),
    "business": env("STRIPE_PRICE_BUSINESS", default=""),
}
# Days a past-due organisation keeps writing before it turns read-only (never data loss).
STRIPE_PAST_DUE_GRACE_DAYS = env.int("STRIPE_PAST_DUE_GRACE_DAYS", default=7)
# Seconds one call to Stripe's API may take (checkout and portal wait on it).
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
# A new organisation starts on a Team trial this many days long; 0 starts it on Free.
TESSERA_TRIAL_DAYS = env.int("TESSERA_TRIAL_DAYS", default=14)
# How each plan limit is measured: limit name -> function(organization) -> int, run in
# the organisation's schema (shared apps never import tenant apps: this is the seam, like
# TESSERA_MEMBER_SYNC). A limit without an entry is shown unmeasured and cannot be checked.
# Called (in the organisation's schema, inside the webhook's transaction) when a
# subscription becomes past due: tells its owners and admins. Empty: nobody is told.
TESSERA_BILLING_PAST_DUE_NOTIFY = "tenant_apps.notifications.services.billing_past_due_record"
TESSERA_BILLING_USAGE = {
    "members": "shared_apps.billing.usage.members_count",
    "projects": "tenant_apps.projects.selectors.projects_active_count",
    "storage_bytes": "tenant_apps.tasks.selectors.storage_bytes_used",
    "reports_per_month": "tenant_apps.reports.selectors.reports_this_month_count",
}
