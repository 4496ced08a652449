"""One router for /api/v1/: each app registers its viewsets, so the API root lists them all."""

from rest_framework.routers import DefaultRouter

from audiences.api.urls import register as register_audiences
from profiles.api.urls import register as register_profiles

router = DefaultRouter()
register_profiles(router)
register_audiences(router)

urlpatterns = router.urls
