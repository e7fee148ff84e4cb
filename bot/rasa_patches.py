"""Changes to Rasa 3.6's per-message work that keep its behaviour and cut its cost (govbot.rasa_launcher installs
them in the Rasa process before Rasa starts; docs/performance.md has the measurements).

- Rasa checks every answer of the action server against its response schema with `jsonschema.validate`, which
  first checks the *schema itself* against the JSON Schema meta-schema, at every call: 18 % of the Rasa process's
  time per message. `install()` validates against the same schema with a validator built once; an invalid answer
  is still refused with the same ValidationError (best match first, as `jsonschema.validate` raises it).
"""

from functools import lru_cache
from typing import Any, Dict, Text

_installed = False


@lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    """A validator of the action server's answers, built (and its schema checked) once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(result: Dict[Text, Any]) -> None:
    """Raise jsonschema's ValidationError (with Rasa's explanation added) when `result` is not a valid answer."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        error.message += (". Failed to validate Action server response from API, make sure your response from the "
                          f"Action endpoint is valid. For more information about the format visit "
                          f"{DOCS_BASE_URL}/custom-actions")
        raise error


def install() -> None:
    """Put the changes in place (once per process)."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import RemoteAction

    def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        validate_action_result(result)
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    _installed = True
