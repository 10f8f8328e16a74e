"""Badge templates: saved layouts with their logo and background, checked; the live preview.

A background PDF is rasterised once, when the template is saved (reportlab cannot draw PDF
pages), to a JPEG at 300 dpi per side: page 1 for the front, page 2 (if any) for the back.
The layout's sides then name it as the asset ``background-front`` / ``background-back``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from anbao.accreditation import badges as B
from anbao.accreditation.models import BadgeTemplate
from anbao.core import audit, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound

#: The layout used when a job names no template and none is marked default.
DEFAULT_TEMPLATE = "cr80-double"


def _layout_error(exc: B.LayoutError) -> DomainError:
    return DomainError(
        "badges.invalid_layout",
        f"The badge layout has {len(exc.problems)} problem(s): {exc}",
        problems=[FieldProblem(field=p.path, message=p.message, code=p.code) for p in exc.problems],
    )


def check_layout(document: Any, *, assets: Iterable[str] | None = None) -> B.Layout:
    """Check a layout document; raise ``badges.invalid_layout`` naming each bad element."""
    try:
        layout = B.parse_layout(document)
    except B.LayoutError as exc:
        raise _layout_error(exc) from exc
    if assets is not None:
        missing = sorted(layout.assets() - set(assets))
        if missing:
            raise DomainError(
                "badges.missing_asset",
                f"The layout uses images the template does not have: {', '.join(missing)}.",
                problems=[FieldProblem(f"assets.{m}", "not uploaded", "missing") for m in missing],
            )
    return layout


def _rasterise_background(pdf: bytes, layout: B.Layout) -> tuple[bytes, bytes | None]:
    try:
        front = B.rasterise_pdf_page(
            pdf, page=0, width_mm=layout.width_mm, height_mm=layout.height_mm
        )
        back = None
        if layout.sides == 2:
            try:
                back = B.rasterise_pdf_page(
                    pdf, page=1, width_mm=layout.width_mm, height_mm=layout.height_mm
                )
            except ValueError:
                back = None  # a one-page background serves the front only
    except (ValueError, RuntimeError) as exc:
        raise DomainError(
            "badges.bad_background", f"The background PDF is unusable: {exc}"
        ) from exc
    except Exception as exc:  # pypdfium2 raises its own errors for corrupt files
        raise DomainError("badges.bad_background", "The background is not a readable PDF.") from exc
    return front, back


@transaction.atomic
def save_template(
    *,
    name: str,
    layout: dict[str, Any],
    description: str = "",
    logo: bytes | None = None,
    background_pdf: bytes | None = None,
    is_default: bool | None = None,
    template: BadgeTemplate | None = None,
) -> BadgeTemplate:
    """Create or change a badge template; the layout is checked and a background rasterised."""
    tpl = template or BadgeTemplate(name=name, created_at=clock.now())
    before = {"name": tpl.name, "layout": tpl.layout} if template else None
    parsed = check_layout(layout)
    if logo is not None:
        tpl.logo = logo or None
    if background_pdf is not None:
        if background_pdf:
            front, back = _rasterise_background(background_pdf, parsed)
            tpl.background_pdf, tpl.background_front, tpl.background_back = (
                background_pdf,
                front,
                back,
            )
        else:
            tpl.background_pdf = tpl.background_front = tpl.background_back = None
    # A side without its own background takes the uploaded one.
    doc = dict(layout)
    present = {"background-front": tpl.background_front, "background-back": tpl.background_back}
    for side, asset in (("front", "background-front"), ("back", "background-back")):
        if isinstance(doc.get(side), dict) and not doc[side].get("background") and present[asset]:
            doc[side] = {**doc[side], "background": asset}
    parsed = check_layout(doc, assets=tpl.assets().keys())
    if BadgeTemplate.objects.exclude(pk=tpl.pk).filter(name=name).exists():
        raise DomainError("badges.duplicate_template", f"A template named {name!r} exists.", 409)
    tpl.name, tpl.description, tpl.layout = name, description, doc
    tpl.size, tpl.sides = parsed.size, parsed.sides
    if is_default is not None:
        tpl.is_default = is_default
    tpl.updated_at = clock.now()
    tpl.save()
    if tpl.is_default:
        BadgeTemplate.objects.exclude(pk=tpl.pk).update(is_default=False)
    audit.record(
        "badges.template_saved",
        obj=tpl,
        before=before,
        after={"name": tpl.name, "size": tpl.size, "sides": tpl.sides},
    )
    return tpl


def get_template(ref: int | str) -> BadgeTemplate:
    """Return a template by id or name; raise ``badges.unknown_template``."""
    qs = BadgeTemplate.objects.all()
    tpl = qs.filter(pk=ref).first() if isinstance(ref, int) else qs.filter(name=ref).first()
    if tpl is None:
        raise NotFound("badges.unknown_template", f"No badge template {ref!r}.")
    return tpl


@transaction.atomic
def delete_template(template: BadgeTemplate) -> None:
    """Delete a template (jobs keep its name)."""
    audit.record("badges.template_deleted", obj=template, before={"name": template.name})
    template.delete()


def resolve_layout(template: BadgeTemplate | str | None) -> tuple[str, B.Layout, dict[str, bytes]]:
    """Return (name, layout, assets) for a template, a bundled name, or the default."""
    if template is None:
        template = BadgeTemplate.objects.filter(is_default=True).first() or DEFAULT_TEMPLATE
    if isinstance(template, str):
        if template in B.DEFAULT_TEMPLATES:
            return template, B.default_layout(template), {}
        template = get_template(template)
    assets = template.assets()
    return template.name, check_layout(template.layout, assets=assets), assets


def preview(
    *,
    layout: dict[str, Any] | None = None,
    template: BadgeTemplate | str | None = None,
    fmt: str = "pdf",
    side: int = 0,
    dpi: int = 150,
) -> bytes:
    """Render one sample badge (PDF, or one side as PNG) for the template editor's preview."""
    if layout is not None:
        assets = template.assets() if isinstance(template, BadgeTemplate) else {}
        parsed = check_layout(layout, assets=assets)
    else:
        _, parsed, assets = resolve_layout(template)
    pdf = B.BadgeRenderer(parsed, assets=assets).render([B.sample_badge()])
    if fmt == "pdf":
        return pdf
    if fmt != "png":
        raise DomainError("badges.bad_format", "The preview format is pdf or png.")
    if side >= parsed.sides or side < 0:
        raise DomainError("badges.bad_side", f"The layout has {parsed.sides} side(s).")
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[side].render(scale=dpi / 72).to_pil()
    finally:
        doc.close()
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
