import type { JobState, PackageState } from '../types.js';

// A state as a word with its colour: the colour helps, the word says it.
export function StateBadge(props: { state: JobState | PackageState }) {
  return <span className={`badge s-${props.state}`}>{props.state}</span>;
}
