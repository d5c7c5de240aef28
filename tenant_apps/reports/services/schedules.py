"""Weekly scheduled reports: set, delete, request the due ones, mail the finished file."""

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shared_apps.core.exceptions import ServiceRefusal
from shared_apps.core.storage import storage
from shared_apps.tenants.models import Organization
from shared_apps.tenants.pending import pending_work_mark
from shared_apps.tenants.services import organization_url
from tenant_apps.members.models import Member
from tenant_apps.notifications.emails import language_for
from tenant_apps.reports.models import Report, ReportSchedule
from tenant_apps.reports.selectors import member_may_request_reports, report_scope
from tenant_apps.reports.services.requests import report_request
from tenant_apps.reports.writers import CONTENT_TYPES

logger = logging.getLogger(__name__)


# Scheduled reports are requested from this hour (organisation's time zone) on their day.
SCHEDULE_LOCAL_HOUR = 7


# At most this many extra recipients per schedule.
MAX_RECIPIENTS = 10


def recipients_eligible(*, owner: Member, recipients) -> list[Member]:
    """The `recipients` who may receive `owner`'s weekly report: active members, not the
    owner, who may report on every project the owner's report covers (so the file shows
    them nothing they could not request themselves)."""
    scope = set(report_scope(owner).values_list("pk", flat=True))
    return [
        person
        for person in recipients
        if person.is_active
        and person.pk != owner.pk
        and scope <= set(report_scope(person).values_list("pk", flat=True))
    ]


def report_schedule_set(
    *, actor: Member, weekday: int, format: str, recipients: list[Member] | None = None
) -> ReportSchedule:
    """Have the `actor` mailed a "completed last week" report every `weekday` (0 = Monday),
    and `recipients` with them (None: keep the current ones). Needs report.create in some
    project (PermissionDenied otherwise); a recipient who could not request the same
    report is refused (ValidationError on `recipients`)."""
    if not member_may_request_reports(actor):
        raise PermissionDenied(_("Your roles do not allow reports (report.create) in any project."))
    if recipients is not None:
        recipients = list({person.pk: person for person in recipients}.values())
        if len(recipients) > MAX_RECIPIENTS:
            raise ValidationError(
                {"recipients": _("At most %(count)d recipients.") % {"count": MAX_RECIPIENTS}}, code="too_many"
            )
        eligible = {person.pk for person in recipients_eligible(owner=actor, recipients=recipients)}
        refused = [person for person in recipients if person.pk not in eligible]
        if refused:
            raise ValidationError(
                {
                    "recipients": _(
                        "%(people)s cannot receive it: a recipient must be another active member who may "
                        "request reports on every project yours covers."
                    )
                    % {"people": ", ".join(str(person) for person in refused)}
                },
                code="recipient_refused",
            )
    with transaction.atomic():
        schedule, _created = ReportSchedule.objects.update_or_create(
            member=actor, defaults={"weekday": weekday, "format": format}
        )
        if recipients is not None:
            schedule.recipients.set(recipients)
        pending_work_mark()  # the sweep works out when it is next due
    return schedule


def report_schedule_delete(*, actor: Member) -> bool:
    """The `actor` stops their weekly report (False when there was none)."""
    return bool(ReportSchedule.objects.filter(member=actor).delete()[0])


def last_week(moment: datetime) -> tuple[date, date]:
    """[Monday, next Monday) of the full week before the one `moment` (local) falls in."""
    monday = moment.date() - timedelta(days=moment.weekday())
    return monday - timedelta(days=7), monday


def report_schedules_run(*, time_zone: str, now: datetime | None = None) -> int:
    """Request the weekly reports due now (in the organisation's schema; beat calls it
    every minute through the sweep). Each schedule runs at most once a local day: the
    day is claimed with a conditional UPDATE before the report is requested. Returns how
    many reports were requested."""
    local = (now or timezone.now()).astimezone(ZoneInfo(time_zone))
    if local.hour < SCHEDULE_LOCAL_HOUR:
        return 0
    today = local.date()
    due = ReportSchedule.objects.select_related("member").filter(weekday=local.weekday(), member__is_active=True)
    requested = 0
    for schedule in due.exclude(last_run_on=today):
        if not ReportSchedule.objects.filter(pk=schedule.pk).exclude(last_run_on=today).update(last_run_on=today):
            continue  # another sweep took it
        start, end = last_week(local)
        try:
            with transaction.atomic():
                report, _created = report_request(
                    actor=schedule.member,
                    kind="completed_tasks",
                    format=schedule.format,
                    params={"from": start.isoformat(), "to": end.isoformat()},
                    time_zone=time_zone,
                )
                Report.objects.filter(pk=report.pk).update(email_when_done=True)
        except (PermissionDenied, ValidationError, ServiceRefusal) as exc:
            # No access any more, or the plan's monthly reports used up / the organisation
            # read-only: this week's report is skipped, the other schedules still run.
            logger.info("weekly report for member %s skipped: %s", schedule.member_id, exc)
            continue
        requested += 1
    return requested


def report_email(*, report_id: int) -> bool:
    """Mail a finished scheduled report to its requester: the file attached, or a link
    when it is larger than TESSERA_REPORT_EMAIL_MAX_BYTES. Sent at most once (the flag
    is cleared before sending and restored if sending fails)."""
    claimed = Report.objects.filter(pk=report_id, status=Report.Status.DONE, email_when_done=True).update(
        email_when_done=False
    )
    if not claimed:
        return False
    report = Report.objects.select_related("requested_by").get(pk=report_id)
    schedule = ReportSchedule.objects.filter(member=report.requested_by).first()
    # The recipients as they are now: one who lost access since is left out.
    others = recipients_eligible(owner=report.requested_by, recipients=schedule.recipients.all()) if schedule else []
    with translation.override(language_for(report.requested_by)):
        message, attach = _report_email_message(report)
    message.to = [report.requested_by.email, *(person.email for person in others)]
    try:
        if attach:
            with storage().open(report.storage_key, "rb") as stored:
                message.attach(report.filename, stored.read(), CONTENT_TYPES[report.format])
        message.send()
    except Exception:
        Report.objects.filter(pk=report_id).update(email_when_done=True)
        raise
    logger.info("weekly report %s mailed to member %s", report.pk, report.requested_by_id)
    return True


def _report_email_message(report: Report) -> tuple[EmailMessage, bool]:
    """The weekly report's email in the active language, and whether to attach the file."""
    organization = Organization.objects.get(schema_name=connection.schema_name)
    figures = (report.summary or {}).get("figures", {})
    last_day = date.fromisoformat(report.params["to"][:10]) - timedelta(days=1)
    period = _("%(start)s to %(end)s") % {"start": report.params["from"][:10], "end": last_day.isoformat()}
    url = organization_url(organization, f"/api/v1/reports/{report.pk}/download/")
    attach = report.file_size is not None and report.file_size <= settings.TESSERA_REPORT_EMAIL_MAX_BYTES
    lines = [
        _("Tasks completed in %(org)s, %(period)s: %(count)s.")
        % {"org": organization.name, "period": period, "count": figures.get("tasks", report.row_count)},
    ]
    if figures.get("cycle_time_median_days") is not None:
        lines.append(
            _("Median cycle time: %(median)s days (90th percentile: %(p90)s days).")
            % {"median": figures["cycle_time_median_days"], "p90": figures["cycle_time_p90_days"]}
        )
    lines.append(
        _("The report is attached; it is also available until %(date)s at %(url)s")
        % {"date": report.expires_at.date().isoformat(), "url": url}
        if attach
        else _("The report is too large to attach; download it until %(date)s at %(url)s")
        % {"date": report.expires_at.date().isoformat(), "url": url}
    )
    lines.append(_("You get this every week; change or stop it at /api/v1/reports/schedule/."))
    message = EmailMessage(
        subject=_("Weekly report: tasks completed %(period)s") % {"period": period},
        body="\n\n".join(lines) + "\n",
        to=[report.requested_by.email],
    )
    return message, attach
