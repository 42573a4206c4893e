import type { PhaseEvent, WarningEvent } from '../core/events.js';

/**
 * What `weld import` tells as it works: a phase per project (looked up, read, chosen) and
 * for the whole run (subject name `*`); warnings are gathered into the summary instead.
 */
export type ImportEvent = PhaseEvent<'package'> | WarningEvent;
