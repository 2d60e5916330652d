"""Every span, attribute, event and metric name teamtape's OTLP export uses, in one place.

Three vocabularies, so each kind of backend finds what it looks for:

- OpenTelemetry GenAI semantic conventions (``gen_ai.*``, ``error.type``): Jaeger, Tempo, Grafana,
  Langfuse, Datadog and the OpenTelemetry Collector understand these.
- OpenInference (``openinference.span.kind``, ``llm.*``, ``tool.*``, ``input.value``...): Arize
  Phoenix renders LLM, tool, agent and retriever spans natively from these.
- ``teamtape.*``: what neither convention has a name for (cost, run status, labels, ids that link a
  span back to the store).

The GenAI conventions are still "development" status; names here follow the versions that ship in
``opentelemetry-semantic-conventions`` 0.5x (``gen_ai.provider.name``, ``gen_ai.input.messages``).
"""

from __future__ import annotations

# -- span names and operations (GenAI) -------------------------------------------------------------
OP_INVOKE_WORKFLOW = "invoke_workflow"
OP_INVOKE_AGENT = "invoke_agent"
OP_CHAT = "chat"
OP_EXECUTE_TOOL = "execute_tool"
OP_RETRIEVAL = "retrieval"

# -- GenAI attributes ------------------------------------------------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"  # deprecated by gen_ai.provider.name; still read by many backends
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_WORKFLOW_NAME = "gen_ai.workflow.name"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_AGENT_ID = "gen_ai.agent.id"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_OUTPUT_TYPE = "gen_ai.output.type"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_COST = "gen_ai.usage.cost"  # not in the conventions; Langfuse reads it as the cost in USD
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
GEN_AI_DATA_SOURCE_ID = "gen_ai.data_source.id"
GEN_AI_RETRIEVAL_QUERY_TEXT = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS = "gen_ai.retrieval.documents"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"
ERROR_TYPE = "error.type"
SESSION_ID = "session.id"  # OpenInference and Langfuse group traces into sessions by it

TOKEN_TYPE_INPUT = "input"
TOKEN_TYPE_OUTPUT = "output"

# teamtape's provider names (recorder) -> gen_ai.provider.name well-known values.
PROVIDER_NAMES = {
    "openai": "openai",
    "openai-compatible": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "aws": "aws.bedrock",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "mistral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
}

# teamtape tool kinds -> gen_ai.tool.type values.
TOOL_TYPES = {
    "function": "function",
    "handoff": "function",
    "agent": "function",
    "team": "function",
    "mcp": "extension",
    "workbench": "extension",
}

# -- OpenInference attributes (Arize Phoenix) ---------------------------------------------------------
OI_SPAN_KIND = "openinference.span.kind"
OI_KIND_CHAIN = "CHAIN"
OI_KIND_AGENT = "AGENT"
OI_KIND_LLM = "LLM"
OI_KIND_TOOL = "TOOL"
OI_KIND_RETRIEVER = "RETRIEVER"
OI_INPUT_VALUE = "input.value"
OI_INPUT_MIME_TYPE = "input.mime_type"
OI_OUTPUT_VALUE = "output.value"
OI_OUTPUT_MIME_TYPE = "output.mime_type"
OI_METADATA = "metadata"
OI_AGENT_NAME = "agent.name"
OI_LLM_MODEL_NAME = "llm.model_name"
OI_LLM_PROVIDER = "llm.provider"
OI_LLM_SYSTEM = "llm.system"
OI_LLM_INVOCATION_PARAMETERS = "llm.invocation_parameters"
OI_LLM_TOKEN_COUNT_PROMPT = "llm.token_count.prompt"
OI_LLM_TOKEN_COUNT_COMPLETION = "llm.token_count.completion"
OI_LLM_TOKEN_COUNT_TOTAL = "llm.token_count.total"
OI_LLM_TOKEN_COUNT_CACHE_READ = "llm.token_count.prompt_details.cache_read"
OI_LLM_INPUT_MESSAGES = "llm.input_messages"  # flattened: llm.input_messages.{i}.message.role ...
OI_LLM_OUTPUT_MESSAGES = "llm.output_messages"
OI_MESSAGE_ROLE = "message.role"
OI_MESSAGE_CONTENT = "message.content"
OI_MESSAGE_TOOL_CALLS = "message.tool_calls"  # ...message.tool_calls.{j}.tool_call.function.name
OI_TOOL_CALL_ID = "tool_call.id"
OI_TOOL_CALL_FUNCTION_NAME = "tool_call.function.name"
OI_TOOL_CALL_FUNCTION_ARGUMENTS = "tool_call.function.arguments"
OI_TOOL_NAME = "tool.name"
OI_TOOL_PARAMETERS = "tool.parameters"
OI_RETRIEVAL_DOCUMENTS = "retrieval.documents"  # retrieval.documents.{i}.document.content
OI_DOCUMENT_CONTENT = "document.content"
OI_DOCUMENT_METADATA = "document.metadata"
OI_MAX_MESSAGES = 100
"""At most this many messages are flattened into ``llm.input_messages.*`` on one span."""

# -- teamtape attributes ------------------------------------------------------------------------------
TT_RUN_ID = "teamtape.run.id"
TT_PARENT_RUN_ID = "teamtape.run.parent_id"
TT_RUN_NAME = "teamtape.run.name"
TT_TEAM_TYPE = "teamtape.team.type"
TT_TEAM = "teamtape.team"
"""On metrics: the top-level run's name (``record(name=...)``) or team type, nested runs' calls
included: what ``teamtape cost --by team`` groups by."""
TT_PARTICIPANTS = "teamtape.team.participants"
TT_RUN_STATUS = "teamtape.run.status"
TT_STOP_REASON = "teamtape.run.stop_reason"
TT_REPLAY_OF = "teamtape.run.replay_of"
TT_LABEL_PREFIX = "teamtape.label."
TT_EVENT_ID = "teamtape.event.id"
TT_TURN_ID = "teamtape.turn.id"
TT_COST_USD = "teamtape.cost_usd"
TT_LLM_CALL_ID = "teamtape.llm.call_id"
TT_LLM_PROVIDER = "teamtape.llm.provider"
TT_LLM_CLIENT = "teamtape.llm.client"
TT_LLM_CACHED = "teamtape.llm.cached"
TT_LLM_RETRIES = "teamtape.llm.retries"
"""Attempts the provider's SDK made again within the call (after an HTTP 429 or 500, a dropped connection)."""
TT_LLM_RETRIED_AFTER = "teamtape.llm.retried_after"
"""What each of those attempts ended with: ``HTTP 429``, ``ConnectTimeout``..."""
TT_TOOL_KIND = "teamtape.tool.kind"
TT_TOOL_IS_ERROR = "teamtape.tool.is_error"
TT_CHILD_RUN_ID = "teamtape.tool.child_run_id"
TT_MEMORY_TYPE = "teamtape.memory.type"
TT_MEMORY_N_RESULTS = "teamtape.memory.n_results"
TT_LLM_CALLS = "teamtape.run.llm_calls"
TT_UNPRICED_CALLS = "teamtape.run.unpriced_calls"
"""Model calls of the run whose cost is unknown: its ``teamtape.cost_usd`` leaves them out."""
TT_TOOL_CALLS = "teamtape.run.tool_calls"

# Span events on the run span.
EVENT_HANDOFF = "teamtape.handoff"
EVENT_SPEAKER_SELECTION = "teamtape.speaker_selection"
EVENT_TERMINATION = "teamtape.termination"
EVENT_EXCEPTION = "exception"
TT_HANDOFF_SOURCE = "teamtape.handoff.source"
TT_HANDOFF_TARGET = "teamtape.handoff.target"
TT_SELECTOR = "teamtape.speaker.selector"
TT_SELECTED = "teamtape.speaker.selected"
TT_SELECTION_DURATION_MS = "teamtape.speaker.duration_ms"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"

# -- metrics ---------------------------------------------------------------------------------------
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
METRIC_COST = "teamtape.llm.cost"
METRIC_RUNS = "teamtape.runs"
METRIC_RUN_DURATION = "teamtape.run.duration"

# Bucket boundaries the GenAI conventions recommend.
TOKEN_USAGE_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
OPERATION_DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
RUN_DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

# -- instrumentation scope and resource --------------------------------------------------------------
SCOPE_NAME = "teamtape"
DEFAULT_SERVICE_NAME = "teamtape"
