"""Knowledge bases built from a connection's files and folders, and their indexing on the mock clock.

`_model` (the records, the folder index, the lazy per-file status and counts), `_indexing` (jobs and
their timing), `_render` (the API's JSON), `_operations` (the behaviours) and `_snapshot` (export and
import with the rest of the Stack AI state).
"""

from ._indexing import INDEX_DONE, index_done
from ._model import KnowledgeBase
from ._operations import (
    create_knowledge_base,
    delete_knowledge_base,
    delete_knowledge_base_resource,
    get_knowledge_base,
    list_knowledge_base_children,
    list_knowledge_bases,
    sync_knowledge_base,
    update_knowledge_base,
    upload_knowledge_base_resource,
)

__all__ = [
    "INDEX_DONE",
    "KnowledgeBase",
    "create_knowledge_base",
    "delete_knowledge_base",
    "delete_knowledge_base_resource",
    "get_knowledge_base",
    "index_done",
    "list_knowledge_base_children",
    "list_knowledge_bases",
    "sync_knowledge_base",
    "update_knowledge_base",
    "upload_knowledge_base_resource",
]
