from audiences.api import views


def register(router) -> None:
    router.register("dimensions", views.DimensionViewSet, basename="dimension")
    router.register("audiences", views.AudienceViewSet)
