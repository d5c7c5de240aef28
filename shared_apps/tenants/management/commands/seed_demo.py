from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Organization, OrgRole
from shared_apps.tenants.services import domain_for_slug, membership_add, organization_create
from shared_apps.tenants.spares import spare_pool_fill

DEMO_PASSWORD = "tessera-demo"  # noqa: S105  (printed for the developer; development data only)
DEMO_SLUG = "acme"
DEMO_PEOPLE = [
    ("owner@acme.test", "Olivia Owner", OrgRole.OWNER),
    ("admin@acme.test", "Adam Admin", OrgRole.ADMIN),
    ("member@acme.test", "Mia Member", OrgRole.MEMBER),
    ("guest@acme.test", "Gus Guest", OrgRole.GUEST),
]
STAFF_EMAIL = "staff@tessera.test"


class Command(BaseCommand):
    help = "Create (idempotently) the demo organisation `acme`, its people and a platform admin."

    def _user(self, email: str, full_name: str, **extra) -> User:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name, **extra)
        # Demo addresses count as verified, so the logins work without a mailbox.
        EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"primary": True, "verified": True})
        return user

    def handle(self, *args, **options):
        spare_pool_fill()
        with transaction.atomic():
            self._user(STAFF_EMAIL, "Platform Staff", is_staff=True, is_superuser=True)
            organization = Organization.objects.filter(slug=DEMO_SLUG).first()
            owner = self._user(*DEMO_PEOPLE[0][:2])
            if organization is None:
                organization = organization_create(slug=DEMO_SLUG, name="Acme Inc.", owner=owner)
            for email, full_name, role in DEMO_PEOPLE[1:]:
                membership_add(organization=organization, user=self._user(email, full_name), role=role)

        port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
        base = f"{settings.SITE_SCHEME}://"
        self.stdout.write("")
        self.stdout.write(f"Platform admin: {base}{settings.BASE_DOMAIN}{port}/admin/  login {STAFF_EMAIL}")
        self.stdout.write(f"Demo organisation: {base}{domain_for_slug(DEMO_SLUG)}{port}/")
        for email, _name, role in DEMO_PEOPLE:
            self.stdout.write(f"  {role:<7} {email}")
        self.stdout.write(f"Every demo password: {DEMO_PASSWORD}")
        self.stdout.write("")
