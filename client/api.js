// The HTTP half of the contract (/openapi.json): JSON in, JSON or an error envelope out.

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data && data.error ? data.error : { code: "http_" + response.status, message: response.statusText };
    throw new ApiError(response.status, error.code, error.message, error.field);
  }
  return data;
}

/** Submits a step; one Idempotency-Key per attempt, reused when the network drops the answer. */
export async function submitStep(roomId, body, retries = 2) {
  const key = newKey();
  for (let attempt = 0; ; attempt++) {
    try {
      return (await api("POST", `/api/rooms/${roomId}/steps`, body, { "Idempotency-Key": key })).step;
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "network" || attempt >= retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 800 * (attempt + 1)));
    }
  }
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
