"""One way to write dates across the admin, whatever the page: "1 Dec 2026" and
"1 Dec 2026, 09:30" (24-hour clock, the site's time zone). Django's own English formats mix
"Dec. 1, 2026", "12/01/2026" and "p.m."; lists, forms and the dashboard use these instead.

Only output formats: what a person may type into a date field stays Django's (DATE_INPUT_FORMATS).
"""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
