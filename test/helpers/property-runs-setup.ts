// Properties without their own numRuns follow the mutation run's budget too.
import fc from 'fast-check';
import { propertyRuns } from './property-runs.js';

fc.configureGlobal({ numRuns: propertyRuns(100) });
