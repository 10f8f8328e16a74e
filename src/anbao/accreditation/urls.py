"""Accreditation office page routes."""

from django.urls import path

from anbao.accreditation import office_views, print_views, views

app_name = "accreditation"
urlpatterns = [
    path("", views.index, name="index"),
    path("vetting/", views.vetting_queue, name="vetting"),
    path("bulk/", views.bulk, name="bulk"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/photo/", views.person_photo, name="person_photo"),
    path("accreditations/<int:pk>/transition/", views.transition, name="transition"),
    path(
        "accreditations/<int:pk>/credential/",
        office_views.credential_action,
        name="credential_action",
    ),
    path("import/", office_views.import_wizard, name="import"),
    path("import/template/", office_views.import_download, {"what": "template"}, name="template"),
    path(
        "import/errors/<str:token>/",
        office_views.import_download,
        {"what": "errors"},
        name="import_errors",
    ),
    path("policy/", office_views.policy_editor, name="policy"),
    path("print/", print_views.print_queue, name="print_queue"),
    path("print/start/", print_views.start_job, name="print_start"),
    path("print/jobs/<int:pk>/", print_views.job_page, name="print_job"),
    path("print/jobs/<int:pk>/download/", print_views.job_download, name="print_download"),
    path("accreditations/<int:pk>/collect/", print_views.collect, name="collect"),
    path("badges/template/", print_views.template_editor, name="badge_template"),
    path("badges/template/preview/", print_views.template_preview, name="badge_preview"),
]
