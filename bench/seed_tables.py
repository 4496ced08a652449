"""The statements of the reference data set, one per table (see bench/seed.py).

Each is an `INSERT ... SELECT` over `generate_series` (or over rows already loaded). `rnd(salt, n)`
is a pseudo-random integer in [0, n) derived from the row number, so every run gives the same rows.
"""

import math

from bench import people

CATEGORIES = [
    ("stay", 0.40, True, ["Standard Room", "Deluxe Room", "Suite", "Family Apartment", "Ocean View Room"], (80, 450)),
    ("tour", 0.20, True, ["City Walking Tour", "Wine Tasting", "Boat Trip", "Food Tour", "Museum Pass"], (20, 150)),
    ("spa", 0.15, True, ["Massage", "Thermal Circuit", "Facial Treatment", "Yoga Class", "Day Pass"], (40, 180)),
    ("dining", 0.15, False, ["Tasting Menu", "Brunch", "Chef's Table", "Wine Pairing", "Picnic Basket"], (30, 220)),
    ("transfer", 0.10, False, ["Airport Transfer", "Private Driver", "Bike Rental", "Car Rental", "Ferry"], (15, 120)),
]
PLANS = [
    ("PLAN-BASIC-M", "Basic monthly", "basic", "4.99"),
    ("PLAN-BASIC-Y", "Basic yearly", "basic", "49.00"),
    ("PLAN-PLUS-M", "Plus monthly", "plus", "9.99"),
    ("PLAN-PLUS-Y", "Plus yearly", "plus", "99.00"),
    ("PLAN-PREMIUM-M", "Premium monthly", "premium", "19.99"),
    ("PLAN-PREMIUM-Y", "Premium yearly", "premium", "199.00"),
]
INVENTORY_LOCATIONS = ["Lisboa", "Porto", "Madrid", "Paris", "London", "Online"]
CONSENT_SOURCES = ["signup_form", "checkout", "preference_center", "import"]


# -- SQL building blocks -----------------------------------------------------------------------


def rnd(salt: int, n: int, key: str = "g") -> str:
    """A pseudo-random integer in [0, n), fixed for a given key and salt."""
    return f"((hashint8extended({key}, {salt}) & 2147483647) % {int(n)})"


def unit(salt: int, key: str = "g") -> str:
    """A pseudo-random float in [0, 1)."""
    return f"((hashint8extended({key}, {salt}) & 16777215)::float8 / 16777216)"


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def array(values) -> str:
    return "ARRAY[" + ", ".join(literal(v) if isinstance(v, str) else str(int(v)) for v in values) + "]"


def pick(values, index: str) -> str:
    """`values[index]` with a 1-based SQL index expression."""
    return f"({array(values)})[{index}]"


def weighted(pairs, salt: int, key: str = "g") -> str:
    """A CASE choosing among (percent, value) pairs."""
    draw, bound, branches = rnd(salt, 100, key), 0, []
    for percent, value in pairs[:-1]:
        bound += percent
        branches.append(f"WHEN {draw} < {bound} THEN {literal(value)}")
    return f"CASE {' '.join(branches)} ELSE {literal(pairs[-1][1])} END"


def ago(salt: int, max_seconds: int, key: str = "g") -> str:
    return f"(now() - make_interval(secs => {rnd(salt, max_seconds, key)}))"


# -- sizes -------------------------------------------------------------------------------------


def sizes_for(profiles: int) -> dict[str, int]:
    products = max(20, round(profiles * 2 / 1000))
    return {
        "profiles": profiles,
        "products": products,
        "bookable products": max(1, math.floor(products * sum(c[1] for c in CATEGORIES if c[2]))),
        "bookings": profiles * 3,
        "purchases": profiles * 5,
    }


# -- the statements, one per table ---------------------------------------------------------------


def products_sql(n: int) -> str:
    bounds, cases_cat, cases_name, cases_price = 0.0, [], [], []
    for index, (name, share, _, items, (low, high)) in enumerate(CATEGORIES):
        bounds += share
        limit = n if index == len(CATEGORIES) - 1 else math.floor(n * bounds)
        cases_cat.append(f"WHEN g <= {limit} THEN {literal(name)}")
        cases_name.append(f"WHEN g <= {limit} THEN {pick(items, '1 + ' + rnd(2, len(items)))}")
        cases_price.append(f"WHEN g <= {limit} THEN {low} + {rnd(3, (high - low) * 100)} / 100.0")
    cities = [city.name for country in people.COUNTRIES for city in country.cities]
    return f"""
    INSERT INTO profiles_product (id, external_id, name, category, price, currency, created_at, updated_at)
    SELECT g, 'SKU-' || lpad(g::text, 5, '0'),
           CASE {" ".join(cases_name)} END || ' ' || {pick(cities, "1 + " + rnd(4, len(cities)))},
           CASE {" ".join(cases_cat)} END,
           round(CASE {" ".join(cases_price)} END, 2), 'EUR', {ago(5, 3 * 365 * 86400)}, now()
    FROM generate_series(1::bigint, {n}) g
    """


def inventory_sql() -> str:
    return f"""
    INSERT INTO profiles_inventoryitem (external_id, product_id, location, quantity, created_at, updated_at)
    SELECT 'INV-' || p.external_id || '-' || n, p.id,
           {pick(INVENTORY_LOCATIONS, f"1 + (p.id + n) % {len(INVENTORY_LOCATIONS)}")},
           {rnd(6, 120, "p.id * 10 + n")}, p.created_at, now()
    FROM profiles_product p CROSS JOIN generate_series(1, 3) n
    ORDER BY p.id, n
    """


def plans_sql() -> str:
    rows = ", ".join(
        f"({literal(key)}, {literal(name)}, {literal(tier)}, {price}, 'EUR', now() - interval '3 years', now())"
        for key, name, tier, price in PLANS
    )
    return f"""
    INSERT INTO profiles_plan (external_id, name, tier, price, currency, created_at, updated_at)
    VALUES {rows}
    """


def profiles_sql(n: int) -> str:
    countries = people.COUNTRIES
    country_draw = [i + 1 for i, c in enumerate(countries) for _ in range(c.weight)]  # 100 entries
    city_draw = [i + 1 for i, w in enumerate(people.CITY_WEIGHTS) for _ in range(w)]
    cities = [city for c in countries for city in c.cities]
    firsts = [name for c in countries for name in c.first_names]
    lasts = [name for c in countries for name in c.last_names]
    streets = [street for c in countries for street in c.streets]

    # Postal code: the city's template with "#" filled from a 9-digit random string `d`.
    postal_cases = []
    for index, city in enumerate(cities, start=1):
        parts, position = [], 1
        for ch in city.postal:
            if ch == "#":
                parts.append(f"substr(d, {position}, 1)")
                position += 1
            else:
                parts.append(literal(ch))
        postal_cases.append(f"WHEN {index} THEN {' || '.join(parts)}")
    number_first = [str(c.number_first).lower() for c in countries]
    topics = ["[]", *(f'["{t}"]' for t in people.TOPICS), f'["{people.TOPICS[0]}", "{people.TOPICS[2]}"]']
    local_part = f"""CASE {rnd(3, 4)}
        WHEN 0 THEN fa || '.' || la WHEN 1 THEN fa || la WHEN 2 THEN left(fa, 1) || '.' || la
        ELSE fa || '_' || la END"""
    return f"""
    INSERT INTO profiles_profile (
        id, external_id, email, phone, first_name, last_name, locale, timezone, country, city,
        address_line1, address_line2, postal_code, region, birth_date, loyalty_tier, attributes,
        created_at, updated_at)
    SELECT g, 'cust-' || lpad(g::text, 7, '0'),
           CASE WHEN {rnd(1, 100)} < 3 THEN ''
                ELSE {local_part} || g || '@' || {pick(people.EMAIL_DOMAINS, "1 + " + rnd(2, len(people.EMAIL_DOMAINS)))}
           END,
           CASE WHEN {rnd(4, 100)} < 25 THEN ''
                ELSE {pick([c.phone_prefix for c in cities], "k")}
                     || right(lpad({rnd(5, 10**9)}::text, 9, '0'), {pick([c.phone_digits for c in cities], "k")})
           END,
           {pick(firsts, "f")}, {pick(lasts, "l")},
           {pick([c.locale for c in countries], "c")}, {pick([c.time_zone for c in cities], "k")},
           {pick([c.code for c in countries], "c")}, {pick([c.name for c in cities], "k")},
           CASE WHEN ({"ARRAY[" + ", ".join(number_first) + "]"})[c]
                THEN (1 + {rnd(6, 250)}) || ' ' || {pick(streets, "s")}
                ELSE {pick(streets, "s")} || ' ' || (1 + {rnd(6, 250)}) END,
           CASE WHEN {rnd(7, 100)} < 12 THEN 'Apt ' || (1 + {rnd(8, 40)}) ELSE '' END,
           CASE k {" ".join(postal_cases)} END,
           {pick([c.region for c in cities], "k")},
           CASE WHEN {rnd(9, 100)} < 8 THEN NULL ELSE DATE '1945-01-01' + {rnd(10, 365 * 62)}::int END,
           {weighted(people.TIERS, 11)},
           jsonb_build_object(
               'segment', {pick(people.SEGMENTS, "1 + " + rnd(12, len(people.SEGMENTS)))},
               'signup_channel', {pick(people.SIGNUP_CHANNELS, "1 + " + rnd(13, len(people.SIGNUP_CHANNELS)))},
               'newsletter_topics', ({pick(topics, "1 + " + rnd(14, len(topics)))})::jsonb,
               'lifetime_nights', {rnd(15, 60)},
               'vip', {rnd(16, 50)} = 0),
           created, created + (now() - created) * {unit(17)}
    FROM (
        SELECT g, c, k, f, l, s, d, created,
               {pick([people.ascii_name(x) for x in firsts], "f")} AS fa,
               {pick([people.ascii_name(x) for x in lasts], "l")} AS la
        FROM (
            SELECT g, c,
                   (c - 1) * 4 + {pick(city_draw, "1 + " + rnd(21, len(city_draw)))} AS k,
                   (c - 1) * 8 + 1 + {rnd(22, 8)} AS f,
                   (c - 1) * 8 + 1 + {rnd(23, 8)} AS l,
                   (c - 1) * 4 + 1 + {rnd(24, 4)} AS s,
                   lpad({rnd(25, 10**9)}::text, 9, '0') AS d,
                   {ago(26, 3 * 365 * 86400)} AS created
            FROM (SELECT g, {pick(country_draw, "1 + " + rnd(20, 100))} AS c
                  FROM generate_series(1::bigint, {n}) g OFFSET 0) s0
            OFFSET 0) s1
        OFFSET 0) s2
    """


def subscriptions_sql(profiles: int) -> str:
    return f"""
    INSERT INTO profiles_subscription (
        external_id, profile_id, plan_id, status, started_at, renews_at, cancelled_at, created_at, updated_at)
    SELECT 'SUB-' || lpad(g::text, 7, '0'), g, (SELECT min(id) FROM profiles_plan) + {rnd(31, len(PLANS))},
           status, started,
           CASE WHEN status IN ('active', 'trialing', 'past_due')
                THEN now() + make_interval(days => 1 + {rnd(32, 30)}::int) END,
           CASE WHEN status IN ('cancelled', 'expired')
                THEN started + (now() - started) * {unit(33)} END,
           started, now()
    FROM (SELECT g, {ago(34, 900 * 86400)} AS started,
                 {weighted([(65, "active"), (5, "trialing"), (5, "past_due"), (20, "cancelled"), (5, "expired")], 35)}
                     AS status
          FROM generate_series(1::bigint, {profiles}) g
          WHERE {rnd(30, 5)} = 0
          OFFSET 0) s
    """


def bookings_sql(n: int, profiles: int, bookable: int) -> str:
    past = weighted([(78, "completed"), (15, "cancelled"), (7, "confirmed")], 44)
    future = weighted([(72, "confirmed"), (14, "pending"), (14, "cancelled")], 44)
    return f"""
    INSERT INTO profiles_booking (
        id, external_id, profile_id, product_id, status, check_in, check_out, amount, currency,
        booked_at, created_at, updated_at)
    SELECT g, 'BK-' || lpad(g::text, 8, '0'), 1 + {rnd(40, profiles)}, 1 + {rnd(41, bookable)},
           CASE WHEN check_in < current_date THEN {past} ELSE {future} END,
           check_in, check_in + nights, round(nights * (60 + {rnd(45, 34000)} / 100.0), 2), 'EUR',
           booked, booked, booked
    FROM (SELECT g, check_in, nights,
                 CASE WHEN planned < now() THEN planned ELSE {ago(46, 60 * 86400)} END AS booked
          FROM (SELECT g, check_in, nights,
                       (check_in - (1 + {rnd(47, 180)})::int) + make_interval(secs => {rnd(48, 86400)}) AS planned
                FROM (SELECT g, current_date + ({rnd(42, 546)} - 365)::int AS check_in,
                             1 + {rnd(43, 7)}::int AS nights
                      FROM generate_series(1::bigint, {n}) g OFFSET 0) s0
                OFFSET 0) s1
          OFFSET 0) s2
    """


def purchases_sql(n: int, profiles: int, products: int) -> str:
    return f"""
    INSERT INTO profiles_purchase (
        id, external_id, profile_id, product_id, quantity, amount, currency, purchased_at, created_at, updated_at)
    SELECT g, 'PU-' || lpad(g::text, 8, '0'), 1 + {rnd(50, profiles)}, 1 + {rnd(51, products)},
           quantity, round((5 + -ln(1 - {unit(52)}) * 60)::numeric, 2) * quantity, 'EUR', at, at, at
    FROM (SELECT g, CASE WHEN {rnd(53, 10)} < 7 THEN 1 WHEN {rnd(53, 10)} < 9 THEN 2 ELSE 3 END AS quantity,
                 {ago(54, 730 * 86400)} AS at
          FROM generate_series(1::bigint, {n}) g OFFSET 0) s
    """


def consents_sql(profiles: int) -> list[str]:
    def source(key: str) -> str:
        return pick(CONSENT_SOURCES, "1 + " + rnd(61, len(CONSENT_SOURCES), key))

    return [
        # Email: every profile; 10% opted out.
        f"""
        INSERT INTO profiles_consent (profile_id, channel, status, source, occurred_at, updated_at)
        SELECT g, 'email', CASE WHEN {rnd(60, 100)} < 10 THEN 'opted_out' ELSE 'opted_in' END, {source("g")}, at, at
        FROM (SELECT g, {ago(62, 900 * 86400)} AS at FROM generate_series(1::bigint, {profiles}) g OFFSET 0) s
        """,
        # SMS: explicit opt-in for 45% of the profiles with a phone (a tenth of them later opted out).
        f"""
        INSERT INTO profiles_consent (profile_id, channel, status, source, occurred_at, updated_at)
        SELECT id, 'sms', CASE WHEN {rnd(64, 10, "id")} = 0 THEN 'opted_out' ELSE 'opted_in' END,
               {source("id")}, at, at
        FROM (SELECT id, {ago(65, 900 * 86400, "id")} AS at FROM profiles_profile
              WHERE phone <> '' AND {rnd(63, 100, "id")} < 45 OFFSET 0) s
        """,
    ]


def push_sql(profiles: int) -> list[str]:
    return [
        f"""
        INSERT INTO profiles_pushdevice (profile_id, token, platform, active, created_at, updated_at)
        SELECT g, 'dev-' || g || '-' || md5('push' || g), {weighted([(45, "ios"), (45, "android"), (10, "web")], 71)},
               {rnd(72, 20)} <> 0, at, at
        FROM (SELECT g, {ago(73, 700 * 86400)} AS at FROM generate_series(1::bigint, {profiles}) g
              WHERE {rnd(70, 100)} < 15 OFFSET 0) s
        """,
        """
        INSERT INTO profiles_consent (profile_id, channel, status, source, occurred_at, updated_at)
        SELECT profile_id, 'push', 'opted_in', 'app', created_at, created_at FROM profiles_pushdevice
        """,
    ]


def consent_events_sql() -> list[str]:
    return [
        # The history behind the current state: one event per consent row, and for the opted out
        # the opt-in that came before (at sign-up).
        """
        INSERT INTO profiles_consentevent (profile_id, channel, status, source, occurred_at, received_at)
        SELECT profile_id, channel, status, source, occurred_at, occurred_at FROM profiles_consent ORDER BY id
        """,
        f"""
        INSERT INTO profiles_consentevent (profile_id, channel, status, source, occurred_at, received_at)
        SELECT profile_id, channel, 'opted_in', 'signup_form', at, at
        FROM (SELECT profile_id, channel, occurred_at - make_interval(days => 1 + {rnd(66, 400, "id")}::int) AS at
              FROM profiles_consent WHERE status = 'opted_out' ORDER BY id OFFSET 0) s
        """,
    ]


def suppressions_sql() -> str:
    reason = weighted([(60, "hard_bounce"), (20, "complaint"), (20, "unsubscribed")], 81, "id")
    return f"""
    INSERT INTO profiles_suppression (channel, address, reason, note, created_at)
    SELECT 'email', email, {reason}, '', {ago(82, 365 * 86400, "id")}
    FROM profiles_profile WHERE email <> '' AND {rnd(80, 1000, "id")} < 5
    """
