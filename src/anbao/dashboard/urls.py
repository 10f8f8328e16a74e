"""dashboard page routes."""

from django.urls import path

from anbao.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.index, name="index"),
    path("screen/", views.screen, name="screen"),
    path("stream/", views.stream, name="stream"),  # type: ignore[arg-type]
    path("reports/daily.pdf", views.daily_pdf, name="daily_pdf"),
    path("reports/handover.pdf", views.handover_pdf, name="handover_pdf"),
]
