import type { PhaseEvent, WarningEvent, WeldEvent } from '../core/events.js';

/**
 * What `weld import` tells as it works: a phase per project (read, chosen) and phases of
 * the whole run (no subject); warnings are gathered into the summary instead.
 */
export type ImportEvent = PhaseEvent<'package'> | WeldEvent<'phase', { detail: string }> | WarningEvent;
