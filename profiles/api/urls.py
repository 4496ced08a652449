from profiles.api import traits, views


def register(router) -> None:
    router.register("profiles", views.ProfileViewSet)
    router.register("products", views.ProductViewSet)
    router.register("inventory", views.InventoryItemViewSet)
    router.register("plans", views.PlanViewSet)
    router.register("subscriptions", views.SubscriptionViewSet)
    router.register("bookings", views.BookingViewSet)
    router.register("purchases", views.PurchaseViewSet)
    router.register("consents/history", views.ConsentHistoryViewSet, basename="consent-history")
    router.register("consents", views.ConsentViewSet)
    router.register("suppressions", views.SuppressionViewSet)
    router.register("push-devices", views.PushDeviceViewSet)
    router.register("custom-attributes", traits.CustomAttributeViewSet)
