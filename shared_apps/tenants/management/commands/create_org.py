from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from shared_apps.accounts.models import User
from shared_apps.tenants.services import domain_for_slug, organization_create


class Command(BaseCommand):
    help = "Create an organisation at <slug>.<BASE_DOMAIN> owned by --owner (created if needed)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True, help="Display name of the organisation.")
        parser.add_argument("--owner", required=True, help="Owner's email; the user is created if missing.")
        parser.add_argument("--owner-password", default=None, help="Password for a newly created owner.")

    def handle(self, *args, slug, name, owner, owner_password, **options):
        try:
            with transaction.atomic():
                user = User.objects.filter(email__iexact=owner).first()
                if user is None:
                    user = User.objects.create_user(email=owner, password=owner_password)
                    # The operator vouches for the address: no verification email needed.
                    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
                organization = organization_create(slug=slug, name=name, owner=user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Created organisation {organization.name!r} at {domain_for_slug(organization.slug)} "
            f"(schema {organization.schema_name}), owner {user.email}"
        )
