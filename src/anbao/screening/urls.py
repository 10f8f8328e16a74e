"""screening page routes."""

from django.urls import path

from anbao.screening import views

app_name = "screening"
urlpatterns = [
    path("", views.index, name="index"),
    path("checkpoints/<str:code>/", views.checkpoint, name="checkpoint"),
    path("checkpoints/<str:code>/live/", views.checkpoint_live, name="checkpoint_live"),
    path(
        "checkpoints/<str:code>/lanes/<str:lane>/toggle/",
        views.lane_toggle,
        name="lane_toggle",
    ),
    path(
        "checkpoints/<str:code>/conflicts/<int:conflict_id>/resolve/",
        views.conflict_resolve,
        name="conflict_resolve",
    ),
    path("seizures/", views.seizures, name="seizures"),
    path("seizures/return/", views.deposit_return, name="deposit_return"),
    path("statistics/", views.statistics, name="statistics"),
]
