from django.db import models


class DeliveryFailure(models.Model):
    """A notification email or webhook that failed for good after its retries (public
    schema): platform staff see them in the admin across organisations. The tenant's own
    delivery rows keep the per-attempt detail."""

    schema_name = models.CharField(max_length=63, db_index=True)
    channel = models.CharField(max_length=16)
    target = models.CharField(max_length=500)
    kinds = models.JSONField(default=list)
    attempts = models.PositiveSmallIntegerField()
    error = models.TextField()
    failed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-failed_at"]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target} ({self.schema_name})"
