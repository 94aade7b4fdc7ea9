# A stdout callback for ansible-core, used by the differential suite: one
# JSON object per task result and host, in the order ansible-playbook
# reports them, shaped like fleet's `task_result` events (docs/cli.md).
# ansible-core ships no JSON callback (the `json` one is in the ansible.posix
# collection), so the suite brings this one.
import json
import sys

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: fleet_diff
type: stdout
short_description: NDJSON task results for fleet's differential suite
description: One JSON line per task result and host.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "fleet_diff"

    def _emit(self, result, status, ignored=False):
        found = result.result
        line = {
            "event": "task_result",
            "host": result.host.get_name(),
            "task": result.task.get_name(),
            "action": result.task.action,
            "status": status,
            "msg": found.get("msg"),
        }
        if ignored:
            line["ignored"] = True
        sys.stdout.write(json.dumps(line, default=str) + "\n")
        sys.stdout.flush()

    def v2_runner_on_ok(self, result):
        self._emit(result, "changed" if result.result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit(result, "failed", ignored=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._emit(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._emit(result, "unreachable")
