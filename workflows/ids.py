"""Workflow ids: the one definition is services/common/workflow_ids.py (services.common
stands alone, docs/architecture.md "Layers"); the workflows import it from here."""

from services.common.workflow_ids import (  # noqa: F401
    INSTALLATION_FILE,
    INSTALLATION_PATTERN,
    cohandling_workflow_id,
    configure,
    consultation_id_beside,
    consultation_workflow_id,
    ensure_installation_file,
    followup_workflow_id,
    installation,
    namespace_of,
)
