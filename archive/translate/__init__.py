"""Offline Chinese-to-English translation with Argos Translate models.

Models are Argos packages (`.argosmodel`: a CTranslate2 model plus a SentencePiece model),
installed and listed through `argostranslate` with its folders under the archive folder
(`<archive>/models/argos`). Sentences are split here (Chinese 。！？； and line structure, English
punctuation); only sentences with Chinese in them are translated, on any page whatever its
detected language, in batches through the package's CTranslate2 model, and every translation is
cached by model and sentence hash. Pages keep aligned [source, target] pairs for a side-by-side
view.

- `packages`: finding and installing Argos packages (`foi models install`, `foi models list`).
- `engine`: sentence splitting, the `Translator` contract, loading and running the model.
- `cache`: the translation cache table, and translating texts through it.
- `pages`: what the step does to a document's pages (here or on a cluster worker).
- `step`: the pipeline step.
- `remote`: translation on a Dask cluster's workers, with the model sent to them once.
- `backfill`: translating pages stored before a model was installed (`foi translate`).
"""

from .backfill import backfill, pending_count
from .cache import TranslationCache, translate_text, translate_texts
from .engine import ArgosTranslator, Translator, import_ctranslate2, split_sentences
from .packages import (
    TranslationError,
    argos_home,
    install_from_file,
    install_from_index,
    installed_packages,
    use_argos,
)
from .step import NO_MODEL, TranslateStep

__all__ = [
    "NO_MODEL",
    "ArgosTranslator",
    "TranslateStep",
    "TranslationCache",
    "TranslationError",
    "Translator",
    "argos_home",
    "backfill",
    "import_ctranslate2",
    "install_from_file",
    "install_from_index",
    "installed_packages",
    "pending_count",
    "split_sentences",
    "translate_text",
    "translate_texts",
    "use_argos",
]
