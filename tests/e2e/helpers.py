"""Steps the browser tests share."""

ROOT = ".rule-builder .rb-root"  # the rule builder's top group


def log_in(page, live_server, username: str, password: str = "pw-1234567") -> None:
    """Log in through the admin's login form (as a person does), as a user made by `make_user`."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
