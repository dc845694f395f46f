// A minimal SageMaker client for the tests: AWS JSON 1.1 straight to the demo's emulator.
export const EMULATOR = process.env.STEPLINE_EMULATOR_URL;

export async function call(operation, body = {}) {
  return callAt(EMULATOR, operation, body);
}

/** The same call to another emulator (a second Stepline's own, in the login tests). */
export async function callAt(endpoint, operation, body = {}) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `SageMaker.${operation}` },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${operation}: ${json.__type}: ${json.message}`);
  return json;
}

export async function executions(pipeline) {
  return (await call('ListPipelineExecutions', { PipelineName: pipeline, MaxResults: 100 })).PipelineExecutionSummaries;
}

export const idOf = (arn) => arn.split('/').pop();

/** The id of `pipeline`'s execution named `display` (the demo's), failing the test when there is none. */
export async function executionNamed(pipeline, display) {
  const e = (await executions(pipeline)).find((x) => x.PipelineExecutionDisplayName === display);
  if (!e) throw new Error(`${pipeline} has no execution named ${display}`);
  return idOf(e.PipelineExecutionArn);
}

/** Replace the emulator's scenario: what simulated jobs do, and the faults it injects. */
export async function scenario(body) {
  const res = await fetch(`${EMULATOR}/_emulator/scenario`, { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`setting the scenario: HTTP ${res.status}: ${await res.text()}`);
}

/** The execution's status, from DescribePipelineExecution. */
export async function status(arn) {
  return (await call('DescribePipelineExecution', { PipelineExecutionArn: arn })).PipelineExecutionStatus;
}

/** The execution's steps, from ListPipelineExecutionSteps. */
export async function steps(arn) {
  return (await call('ListPipelineExecutionSteps', { PipelineExecutionArn: arn })).PipelineExecutionSteps;
}

/**
 * The one bounded poll: calls `probe` until `done(value)` holds and returns that value. Past the deadline it
 * throws, naming `what` was awaited and the last value seen (through `show`). An error from `probe` is not
 * retried: it ends the wait.
 */
export async function poll(probe, done, { what, show = JSON.stringify, timeoutMs = 20000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() >= deadline) throw new Error(`waited ${timeoutMs} ms for ${what}; last seen: ${show(value)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `want` as a test on a status, with words for an error message: a status string or a predicate. */
function wanted(want) {
  return typeof want === 'function'
    ? { test: want, words: want.label ?? `a status passing ${want.toString()}` }
    : { test: (s) => s === want, words: `status ${want}` };
}

/**
 * Wait until the execution's status (DescribePipelineExecution) is `want` (a status string, or a predicate on
 * the status); returns the status. Throws, naming the ARN, what was wanted and the last status, past the deadline.
 */
export async function waitForStatus(arn, want, { timeoutMs } = {}) {
  const { test, words } = wanted(want);
  return poll(() => status(arn), test, { what: `${arn} to reach ${words}`, show: String, timeoutMs });
}

/** Wait until step `name` of the execution (ListPipelineExecutionSteps) has a status that is `want`; returns the step. */
export async function waitForStepStatus(arn, name, want, { timeoutMs } = {}) {
  const { test, words } = wanted(want);
  return poll(
    async () => (await steps(arn)).find((s) => s.StepName === name),
    (step) => step !== undefined && test(step.StepStatus),
    { what: `step ${name} of ${arn} to reach ${words}`, show: (step) => step?.StepStatus ?? 'no such step yet', timeoutMs },
  );
}

/** A status predicate for waitForStatus: the execution has left Executing (whatever it ended as). */
export const notExecuting = Object.assign((s) => s !== 'Executing', { label: 'any status but Executing' });
