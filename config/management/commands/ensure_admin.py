import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Make sure a superuser exists for local use and print its login. The first run creates "
        "'admin' with a random password kept in var/admin-login.txt (readable by you only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        login_file = settings.VAR_DIR / "admin-login.txt"
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email="", password=password)
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            fd = os.open(login_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{username}\n{password}\n")
        elif login_file.exists():
            stored_user, password = login_file.read_text().split("\n")[:2]
            if stored_user != username or not user.check_password(password):
                password = None
        else:
            password = None
        if password:
            self.stdout.write(self.style.SUCCESS(f"Admin login: user {username!r}, password {password!r}"))
        else:
            self.stdout.write(
                f"The user {username!r} exists; its password is yours (reset it with "
                f"`manage.py changepassword {username}`)."
            )
