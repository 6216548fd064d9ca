"""The invoice as a PDF (ReportLab): one A4 page a person can file or print."""

from decimal import Decimal
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import Invoice
from billing.money import MINOR_UNITS
from clinic.clock import clinic_timezone
from clinic.registry import clinic_setting


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.{MINOR_UNITS[currency]}f} {currency}"


def invoice_pdf(invoice: Invoice) -> bytes:
    """Render `invoice` (with items, patient and doctor loaded) to PDF bytes."""
    styles = getSampleStyleSheet()
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"Invoice {invoice.number}",
        author=clinic_setting("invoice_issuer"),
    )
    patient = invoice.patient.user
    doctor = invoice.appointment.doctor.user
    currency = invoice.currency
    header = [
        ["Invoice", invoice.number],
        ["Issued", f"{invoice.issued_at.astimezone(clinic_timezone()):%Y-%m-%d}"],
        ["Status", invoice.get_status_display()],
        ["Patient", patient.full_name or patient.email],
        ["Doctor", f"Dr {doctor.full_name or doctor.email}"],
    ]
    lines = [["Description", "Qty", "Unit price", "Amount"]]
    lines += [
        [
            Paragraph(escape(item.description), styles["BodyText"]),
            str(item.quantity),
            _money(item.unit_price, currency),
            _money(item.total, currency),
        ]
        for item in invoice.items.all()
    ]
    lines += [
        ["", "", "Subtotal", _money(invoice.subtotal, currency)],
        ["", "", f"Tax ({invoice.tax_rate.normalize():f} %)", _money(invoice.tax, currency)],
        ["", "", "Total", _money(invoice.total, currency)],
    ]
    first_total_row = len(lines) - 3
    header_table = Table(header, colWidths=[35 * mm, 135 * mm], hAlign="LEFT")
    header_table.setStyle(TableStyle([("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]))
    items_table = Table(lines, colWidths=[95 * mm, 15 * mm, 30 * mm, 30 * mm], repeatRows=1)
    items_table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (2, first_total_row), (-1, first_total_row), 0.5, colors.grey),
                ("FONTNAME", (2, -1), (-1, -1), "Helvetica-Bold"),
                ("LINEABOVE", (2, -1), (-1, -1), 0.8, colors.black),
            ]
        )
    )
    doc.build(
        [
            Paragraph(escape(clinic_setting("invoice_issuer")), styles["Title"]),
            Spacer(1, 6 * mm),
            header_table,
            Spacer(1, 8 * mm),
            items_table,
        ]
    )
    return buffer.getvalue()
