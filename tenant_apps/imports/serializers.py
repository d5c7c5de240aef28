from rest_framework import serializers

from tenant_apps.imports.models import TaskImport


class ImportUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file (UTF-8 with or without BOM, or Windows-1251).")


class ImportMappingInputSerializer(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True),
        help_text='{column index ("0") or header text: target key, or "" / null to skip the column}.',
    )


class ImportStartInputSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=TaskImport.Mode.choices)


class ImportRowErrorOutputSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Line of the file (1 is the header).")
    column = serializers.CharField(help_text="Header of the column, or empty for the whole row or file.")
    message = serializers.CharField()


class ImportTargetOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    required = serializers.BooleanField()


class ImportPreviewRowOutputSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    cells = serializers.ListField(child=serializers.CharField(allow_blank=True))
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Header -> messages."
    )


class ImportOutputSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.key")
    progress = serializers.SerializerMethodField()
    mapping = serializers.DictField(child=serializers.CharField(allow_null=True, allow_blank=True))
    headers = serializers.ListField(child=serializers.CharField(allow_blank=True))
    errors = ImportRowErrorOutputSerializer(many=True)

    class Meta:
        model = TaskImport
        fields = [
            "id",
            "project",
            "status",
            "mode",
            "filename",
            "size",
            "encoding",
            "delimiter",
            "headers",
            "mapping",
            "row_count",
            "progress",
            "imported_count",
            "error_count",
            "errors",
            "failure_reason",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_progress(self, task_import: TaskImport) -> int:
        from tenant_apps.imports.services import progress_read

        return progress_read(task_import)


class ImportDetailOutputSerializer(ImportOutputSerializer):
    targets = ImportTargetOutputSerializer(many=True, help_text="Fields a column may fill.")
    preview = ImportPreviewRowOutputSerializer(many=True, help_text="The first rows, with their errors.")
    problems = ImportRowErrorOutputSerializer(many=True, help_text="What the mapping still lacks.")

    class Meta(ImportOutputSerializer.Meta):
        fields = [*ImportOutputSerializer.Meta.fields, "targets", "preview", "problems"]
