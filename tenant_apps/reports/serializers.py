from rest_framework import serializers

from shared_apps.core.api import UNKNOWN_FIELD, unknown_refuse
from tenant_apps.reports.kinds import KINDS
from tenant_apps.reports.models import Report


class ReportCreateInputSerializer(serializers.Serializer):
    """Kind and format, plus the kind's parameters at the top level. Unknown fields are
    refused by name."""

    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    format = serializers.ChoiceField(choices=Report.Format.choices)
    project = serializers.CharField(required=False, max_length=10, help_text="Project key, e.g. WEB.")
    assignee = serializers.CharField(required=False, max_length=12, help_text="Member id or `me`.")
    label = serializers.CharField(required=False, max_length=12, help_text="Label id.")
    filters = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="task_list: the list's filters as a query string, e.g. `status=todo&assignee=me&search=login`.",
    )

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs


# `from` is a Python keyword: declared after the class body.
ReportCreateInputSerializer._declared_fields["from"] = serializers.CharField(
    required=False, max_length=40, help_text="Start (inclusive): a date in the organisation's time zone, or ISO time."
)
ReportCreateInputSerializer._declared_fields["to"] = serializers.CharField(
    required=False, max_length=40, help_text="End (exclusive): a date in the organisation's time zone, or ISO time."
)


class ReportListQuerySerializer(serializers.Serializer):
    requested_by = serializers.RegexField(r"^(me|\d{1,12})$", required=False, help_text="Member id or `me`.")
    status = serializers.ChoiceField(choices=Report.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Report.Kind.choices, required=False)
    page = serializers.IntegerField(required=False)
    page_size = serializers.IntegerField(required=False)


class ReportRequesterOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    email = serializers.EmailField()


class ReportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    format = serializers.ChoiceField(choices=Report.Format.choices)
    params = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Report.Status.choices)
    failure_reason = serializers.CharField(help_text="Why it failed (empty unless failed).")
    progress = serializers.IntegerField(help_text="Percent of rows written.")
    row_count = serializers.IntegerField(allow_null=True)
    file_size = serializers.IntegerField(allow_null=True, help_text="Bytes.")
    filename = serializers.CharField()
    download_url = serializers.SerializerMethodField()
    requested_by = ReportRequesterOutputSerializer()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()

    def get_params(self, report) -> dict:
        """The validated parameters (ids resolved internally are left out)."""
        return {key: value for key, value in report.params.items() if not key.endswith("_id")}

    def get_download_url(self, report) -> str | None:
        if report.status != Report.Status.DONE:
            return None
        return f"/api/v1/reports/{report.pk}/download/"


class ReportDetailOutputSerializer(ReportOutputSerializer):
    summary = serializers.JSONField(allow_null=True, help_text="{figures: {...}, tables: {name: [rows]}} once done.")


class ReportKindOutputSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(KINDS))
    title = serializers.CharField()
    description = serializers.CharField()
    params = serializers.ListField(child=serializers.CharField())
    required = serializers.ListField(child=serializers.CharField())
    formats = serializers.ListField(child=serializers.CharField())


WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class ReportScheduleInputSerializer(serializers.Serializer):
    weekday = serializers.ChoiceField(choices=WEEKDAY_NAMES, help_text="The day the report is mailed.")
    format = serializers.ChoiceField(choices=Report.Format.choices, default=Report.Format.XLSX)
    recipients = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10,
        help_text="Member ids also mailed the report (omitted: unchanged). Each must be able to request "
        "reports on every project yours covers.",
    )

    def validate(self, attrs):
        unknown_refuse(self.initial_data, self.fields, message=UNKNOWN_FIELD)
        return attrs


class ReportScheduleOutputSerializer(serializers.Serializer):
    weekday = serializers.ChoiceField(choices=WEEKDAY_NAMES, allow_null=True, help_text="null: no weekly report.")
    format = serializers.ChoiceField(choices=Report.Format.choices, allow_null=True)
    last_run_on = serializers.DateField(allow_null=True)
    recipients = serializers.ListField(child=serializers.IntegerField(), help_text="Member ids also mailed the report.")
