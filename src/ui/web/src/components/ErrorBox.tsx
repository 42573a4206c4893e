import type { ApiError } from '../api.js';

export function ErrorBox(props: { error: ApiError; what: string }) {
  return (
    <div className="error" role="alert">
      <p>
        <strong>Cannot load {props.what}:</strong> {props.error.message}
      </p>
      {props.error.hint ? <p className="muted">{props.error.hint}</p> : null}
    </div>
  );
}
