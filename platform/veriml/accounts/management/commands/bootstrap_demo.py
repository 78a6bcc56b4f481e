from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from veriml.accounts import services
from veriml.accounts.models import ApiKey, Membership

DEMO_ORGANISATION = "Demo"
DEMO_USERNAME = "demo"
DEMO_KEY_NAME = "demo"


class Command(BaseCommand):
    help = (
        "Create a demo organisation, an owner who can sign in and an API key, once. "
        "Credentials are printed only when they are created."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            organisation, _ = services.get_or_create_organisation(DEMO_ORGANISATION)
            user_model = get_user_model()
            user = user_model.objects.filter(username=DEMO_USERNAME).first()
            password = None
            if user is None:
                password = secrets.token_urlsafe(12)
                user = user_model.objects.create_user(
                    username=DEMO_USERNAME, email="demo@example.com", password=password
                )
            services.add_member(organisation, user, Membership.Role.OWNER)
            issued = None
            if not ApiKey.objects.filter(organisation=organisation, name=DEMO_KEY_NAME).exists():
                issued = services.create_api_key(
                    organisation, DEMO_KEY_NAME, list(ApiKey.Scope.values)
                )

        if password is not None:
            self.stdout.write(f"Demo login: {DEMO_USERNAME} / {password}")
        else:
            self.stdout.write(f"Demo login: {DEMO_USERNAME} (exists; password unchanged)")
        if issued is not None:
            self.stdout.write(f"Demo API key (shown only now): {issued.raw_key}")
        else:
            self.stdout.write("Demo API key: exists (create another with create_api_key)")
