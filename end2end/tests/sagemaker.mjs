// A minimal SageMaker client for the tests: AWS JSON 1.1 straight to the demo's emulator.
export const EMULATOR = process.env.STEPLINE_EMULATOR_URL;

export async function call(operation, body = {}) {
  const res = await fetch(EMULATOR, {
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
