// Public surface of the routing layer (the composition root imports from here).
export { createRoutedBackend, ROUTER_DEFAULTS } from './router.ts';
export type { RoutedBackend, RoutedBackendOptions, RouterLogEvent, RouterStats } from './router.ts';
