// Layer rules, checked by `npm run lint:layers` (part of `npm test`). The layers, lowest first:
//   lib/       shared building blocks: imports nothing of ours above it
//   config/    the files operators edit, their schemas and the loader: imports lib/ only
//   ingest/ alerts/ aggregates/ dashboards/ simulator/   the domain: lib/, config/ and each other, never a front end
//   runtime/   opens the world (Redis, InfluxDB, the thresholds) for the front ends: the domain's user
//   api/  cli/  demo/                        front ends: api/ never imports cli/; cli/ reaches api/ only
//                                            through cli/commands/api.ts (the command that starts it)
//   devtools/  local services for tests and the demo: never imported by production code
// A rule a change breaks is a design question, not a lint nit: see CONTRIBUTING.md ("Layers").
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-imports-nothing-above',
      severity: 'error',
      comment: 'lib/ is the bottom layer: it must not import config/, the domain, the front ends or devtools/.',
      from: { path: '^lib/' },
      to: { path: '^(config|ingest|alerts|aggregates|dashboards|simulator|runtime|api|cli|demo|test)/' },
    },
    {
      name: 'config-imports-lib-only',
      severity: 'error',
      comment: 'config/ sits on lib/ alone; a schema that needs domain knowledge belongs with that domain.',
      from: { path: '^config/' },
      to: { path: '^(ingest|alerts|aggregates|dashboards|simulator|runtime|api|cli|demo|test)/' },
    },
    {
      name: 'domain-imports-no-front-end',
      severity: 'error',
      comment: 'ingest/, alerts/, aggregates/, dashboards/ and simulator/ are used by the front ends, never the reverse.',
      from: { path: '^(ingest|alerts|aggregates|dashboards|simulator)/' },
      to: { path: '^(runtime|api|cli|demo|test)/' },
    },
    {
      name: 'runtime-below-front-ends',
      severity: 'error',
      comment: 'runtime/ opens connections for the front ends; it never imports one.',
      from: { path: '^runtime/' },
      to: { path: '^(api|cli|demo|test)/' },
    },
    {
      name: 'api-not-cli',
      severity: 'error',
      comment: 'The HTTP API does not reach into the CLI; the CLI command that starts the API lives in cli/commands/api.ts.',
      from: { path: '^api/' },
      to: { path: '^(cli|demo|test)/' },
    },
    {
      name: 'cli-reaches-api-through-one-file',
      severity: 'error',
      comment: 'Only cli/commands/api.ts (which starts the HTTP API) imports api/; the rest of the CLI shares nothing with it.',
      from: { path: '^cli/', pathNot: '^cli/commands/api\\.ts$' },
      to: { path: '^api/' },
    },
    {
      name: 'devtools-not-in-production',
      severity: 'error',
      comment: 'devtools/ starts throw-away Mosquitto/Redis/InfluxDB/SMTP for tests and the demo only.',
      from: { path: '^(lib|config|ingest|alerts|aggregates|dashboards|simulator|runtime|api)/' },
      to: { path: '^devtools/' },
    },
    {
      name: 'devtools-on-lib-only',
      severity: 'error',
      comment: 'devtools/ may use lib/ (logger, ports) but nothing of the pipeline.',
      from: { path: '^devtools/' },
      to: { path: '^(config|ingest|alerts|aggregates|dashboards|simulator|runtime|api|cli|demo|test)/' },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      // Type-only imports are erased when compiled (verbatimModuleSyntax) and may form a cycle: the
      // rule table and the station profile do, by design (each rule's config type is part of the
      // profile every rule reads).
      comment: 'A cycle makes the load order decide behaviour; break it with an interface or a lower module.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve fails at run time.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|demo-out|dashboards/generated|\\.tmp)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
