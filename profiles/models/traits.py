from django.core.validators import RegexValidator
from django.db import models

TRAIT_KEY_PATTERN = r"\A[a-z_][a-z0-9_]{0,62}\Z"


class TraitType(models.TextChoices):
    STRING = "string", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "True or false"
    DATE = "date", "Date (YYYY-MM-DD)"
    LIST = "list", "List"


class CustomAttribute(models.Model):
    """A custom trait: a key of `Profile.attributes` declared with a type, which makes it a rule
    field `attributes.<key>` (docs/audiences.md, "Custom traits")."""

    key = models.CharField(
        max_length=63,
        unique=True,
        validators=[
            RegexValidator(
                TRAIT_KEY_PATTERN,
                "Use lower-case letters, digits and underscores, starting with a letter or an underscore "
                "(at most 63 characters), e.g. newsletter_topics.",
            )
        ],
        help_text="The key in the profile's attributes, e.g. newsletter_topics.",
    )
    label = models.CharField(max_length=100, help_text="The name marketers see in the rule builder.")
    type = models.CharField(
        max_length=10,
        choices=TraitType.choices,
        help_text="What the profiles' values are. A value of another type does not match rules on this trait.",
    )
    description = models.TextField(blank=True, default="", help_text="Where the values come from, what they mean.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = "custom trait"

    def __str__(self):
        return f"{self.label} (attributes.{self.key})"

    @property
    def field_name(self) -> str:
        """The rule field that reads this trait."""
        return f"attributes.{self.key}"
