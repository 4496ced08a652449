from profiles.models.catalog import InventoryItem, Plan, Product
from profiles.models.consent import Channel, Consent, ConsentEvent, ConsentStatus, PushDevice, Suppression
from profiles.models.entities import Booking, Purchase, Subscription
from profiles.models.profile import Profile
from profiles.models.traits import CustomAttribute, TraitType

__all__ = [
    "Booking",
    "Channel",
    "Consent",
    "CustomAttribute",
    "ConsentEvent",
    "ConsentStatus",
    "InventoryItem",
    "Plan",
    "Product",
    "Profile",
    "Purchase",
    "PushDevice",
    "Subscription",
    "Suppression",
    "TraitType",
]
