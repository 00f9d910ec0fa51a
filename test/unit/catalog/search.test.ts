import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ToolIndex, type SearchableTool } from '../../../src/catalog/search.js';
import { stem, tokenize } from '../../../src/catalog/search/text.js';

/**
 * ~1,000 tools across ~50 servers: the real tools of server-everything,
 * server-filesystem and server-memory plus synthetic SaaS servers
 * (regenerate with `node test/fixtures/catalogs/generate.mjs`).
 */
const catalog = JSON.parse(readFileSync(new URL('../../fixtures/catalogs/large.json', import.meta.url), 'utf8')) as SearchableTool[];

/**
 * Natural-language queries, each with the tool it intends. Where a query is
 * honestly answered by more than one tool, every acceptable answer is listed.
 */
const QUERIES: [query: string, intended: string | string[]][] = [
  // The reference servers.
  ['what files are in this folder', ['filesystem__list_directory', 'filesystem__list_directory_with_sizes']],
  ['read the contents of config.yaml', ['filesystem__read_text_file', 'filesystem__read_file']],
  ['save this text to notes.txt', 'filesystem__write_file'],
  // No service named: a local directory, a Drive folder or a Dropbox folder all answer it.
  ['make a new folder called reports', ['filesystem__create_directory', 'gdrive__create_folder', 'dropbox__create_folder']],
  ['rename a file on disk', 'filesystem__move_file'],
  ['find all markdown files under docs', 'filesystem__search_files'],
  ['how big is this file and when was it last modified', 'filesystem__get_file_info'],
  ['show the directory tree of the project', 'filesystem__directory_tree'],
  ['replace a few lines in a file', 'filesystem__edit_file'],
  ['which directories am I allowed to access', 'filesystem__list_allowed_directories'],
  ['view an image file as base64', 'filesystem__read_media_file'],
  ['remember that Alice works at Acme', ['memory__create_entities', 'memory__add_observations']],
  ['link Alice to Acme in the knowledge graph with a works_at relation', 'memory__create_relations'],
  ['forget the entity Bob', 'memory__delete_entities'],
  ['look up what you know about Alice', ['memory__search_nodes', 'memory__open_nodes']],
  ['dump the whole knowledge graph', 'memory__read_graph'],
  ['add two numbers', 'everything__get-sum'],
  ['echo back a message', 'everything__echo'],
  ['print the environment variables of the server', 'everything__get-env'],
  ['compress a file with gzip', 'everything__gzip-file-as-resource'],
  ['ask the client LLM to sample a completion', ['everything__trigger-sampling-request', 'everything__trigger-sampling-request-async']],
  // SaaS servers.
  ['open a new ticket in jira', 'jira__create_issue'],
  ['move the jira issue to done', 'jira__transition_issue'],
  ['post a message to the #general channel', 'slack__post_message'],
  ['react with a thumbs up to a slack message', 'slack__add_reaction'],
  ['merge pull request 42', 'github__merge_pull_request'],
  ['list open pull requests in the repo', 'github__list_pull_requests'],
  ['comment on the github issue', 'github__add_issue_comment'],
  ['create a linear issue for the login bug', 'linear__create_issue'],
  ['search confluence for the onboarding page', 'confluence__search'],
  ['create a notion page', 'notion__create_page'],
  ['upload a file to google drive', 'gdrive__upload_file'],
  ['share the document with bob@example.com', 'gdrive__share_file'],
  ['list the tables in the postgres database', 'postgres__list_tables'],
  ['run a SQL query against postgres', 'postgres__query'],
  ['refund a stripe payment', 'stripe__create_refund'],
  ['cancel the customer subscription', 'stripe__cancel_subscription'],
  ['create a new lead in salesforce', 'salesforce__create_lead'],
  ['add a contact to hubspot', 'hubspot__create_contact'],
  ['reply to the zendesk support ticket', 'zendesk__add_ticket_comment'],
  ['who is on call right now', ['pagerduty__list_oncalls', 'opsgenie__get_on_calls']],
  ['acknowledge the pagerduty incident', 'pagerduty__acknowledge_incident'],
  ['mute the datadog monitor', 'datadog__mute_monitor'],
  ['show unresolved sentry errors', ['sentry__list_issues', 'sentry__search_errors']],
  ['restart the api deployment in kubernetes', 'k8s__restart_deployment'],
  ['get logs of a pod', 'k8s__get_pod_logs'],
  ['scale the deployment to 5 replicas', 'k8s__scale_deployment'],
  ['show running docker containers', 'docker__list_containers'],
  ['build a docker image from the Dockerfile', 'docker__build_image'],
  ['stop the ec2 instance', 'aws__stop_ec2_instance'],
  ['list s3 buckets', 'aws__list_s3_buckets'],
  ['deploy to vercel production', ['vercel__create_deployment', 'vercel__promote_deployment']],
  ['purge the cloudflare cache', 'cloudflare__purge-cache'],
  ['apply the terraform plan', 'terraform__apply'],
  ['schedule a meeting with Bob tomorrow at 3pm', ['calendar__create_event', 'calendar__quick_add_event', 'zoom__create_meeting', 'outlook__create_event']],
  ['list my upcoming calendar events', 'calendar__list_events'],
  ['send an email to the team about the release', ['gmail__send_email', 'outlook__send_mail', 'sendgrid__send_email']],
  ['find unread emails from my boss', 'gmail__search_emails'],
  ['send an sms text message', 'twilio__send_sms'],
  ['take a screenshot of the page', 'browser__screenshot'],
  ['search the web for MCP gateways', 'websearch__web_search'],
  ['add a record to the airtable base', 'airtable__createRecord'],
  ['deactivate an okta user', 'okta__deactivate_user'],
  ['rerun the failed circleci workflow', 'circleci__rerun_workflow'],
  ['export a figma frame as png', 'figma__export_images'],
];

describe('tokenize and stem', () => {
  it('splits names on separators, camelCase and digits, keeping mixed words whole', () => {
    expect(tokenize('github__create_pull-request.v2')).toEqual(['github', 'create', 'pull', 'request', 'v2']);
    expect(tokenize('airtable__listRecords')).toEqual(['airtable', 'list', 'records']);
    expect(tokenize('getHTTPServer')).toEqual(['get', 'http', 'server']);
    expect(tokenize('aws__list_s3_buckets')).toEqual(['aws', 'list', 's3', 'buckets']);
    expect(tokenize('k8s base64 ec2')).toEqual(['k8s', 'base', 'base64', 'ec', 'ec2']);
    expect(tokenize("What's in the #general channel?")).toEqual(['what', 'in', 'the', 'general', 'channel']);
  });

  it('stems conservatively and consistently', () => {
    const same = (...ws: string[]) => expect(new Set(ws.map(stem)).size).toBe(1);
    same('create', 'creates', 'created', 'creating');
    same('file', 'files');
    same('entity', 'entities');
    same('directory', 'directories');
    same('branch', 'branches');
    same('list', 'lists', 'listing', 'listed');
    same('run', 'running');
    same('stop', 'stopped');
    same('add', 'added');
    same('message', 'messages');
    expect(stem('string')).toBe('string');
    expect(stem('status')).toBe('status');
    expect(stem('analysis')).toBe('analysis');
    expect(stem('process')).toBe('process');
  });
});

describe('ToolIndex', () => {
  it(`finds the intended tool in the top 3 for at least 90% of ${QUERIES.length} natural-language queries`, () => {
    const index = new ToolIndex(catalog);
    const misses: string[] = [];
    let hits = 0;
    for (const [query, intended] of QUERIES) {
      const acceptable = Array.isArray(intended) ? intended : [intended];
      for (const name of acceptable)
        expect(
          catalog.some((t) => t.name === name),
          `${name} is in the fixture`,
        ).toBe(true);
      const top = index.search(query, { limit: 3 }).map((h) => h.name);
      if (top.some((name) => acceptable.includes(name))) hits++;
      else misses.push(`  "${query}" → [${top.join(', ')}], wanted ${acceptable.join(' | ')}`);
    }
    const rate = hits / QUERIES.length;
    console.log(
      `find_tools top-3 hit rate: ${hits}/${QUERIES.length} = ${(rate * 100).toFixed(1)}% over ${index.size} tools${misses.length ? `\nmisses:\n${misses.join('\n')}` : ''}`,
    );
    expect(QUERIES.length).toBeGreaterThanOrEqual(30);
    expect(rate).toBeGreaterThanOrEqual(0.9);
  });

  it('is deterministic: same query, same output; ties broken by name', () => {
    const index = new ToolIndex(catalog);
    for (const [query] of QUERIES) expect(index.search(query, { limit: 20 })).toEqual(index.search(query, { limit: 20 }));
    // Identical tools score identically and come back in name order, whatever the input order.
    const twins = ['b__do_thing', 'a__do_thing', 'c__do_thing'].map((name) => ({ name, description: 'Frobnicate the widget.' }));
    const hits = new ToolIndex(twins).search('frobnicate widget');
    expect(hits.map((h) => h.name)).toEqual(['a__do_thing', 'b__do_thing', 'c__do_thing']);
    expect(new Set(hits.map((h) => h.score)).size).toBe(1);
    // A rebuilt index (list_changed) over a shuffled catalog answers the same.
    const shuffled = new ToolIndex([...catalog].reverse());
    for (const [query] of QUERIES.slice(0, 10)) expect(shuffled.search(query, { limit: 10 })).toEqual(index.search(query, { limit: 10 }));
  });

  it('ranks best first and honours limit (default 5)', () => {
    const index = new ToolIndex(catalog);
    const hits = index.search('create an issue');
    expect(hits).toHaveLength(5);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    expect(index.search('create an issue', { limit: 2 })).toEqual(hits.slice(0, 2));
    expect(index.search('create an issue', { limit: 0 })).toEqual([]);
    expect(index.search('create an issue', { limit: 50 })).toHaveLength(50);
    expect(index.search('create an issue', { limit: -1 })).toEqual([]);
    expect(index.search('create an issue', { limit: Number.NaN })).toEqual(hits);
    expect(index.search('create an issue', { limit: 2.9 })).toEqual(hits.slice(0, 2));
    expect(new ToolIndex(catalog.slice(0, 3)).search('read', { limit: 10 }).length).toBeLessThanOrEqual(3);
  });

  it('applies the filter before cutting to the limit', () => {
    const index = new ToolIndex(catalog);
    const all = index.search('create an issue', { limit: 50 });
    const onlyGitlab = (name: string) => name.startsWith('gitlab__');
    const filtered = index.search('create an issue', { limit: 3, filter: onlyGitlab });
    expect(filtered).toHaveLength(3);
    expect(filtered.every((h) => onlyGitlab(h.name))).toBe(true);
    expect(filtered).toEqual(all.filter((h) => onlyGitlab(h.name)).slice(0, 3));
    expect(filtered[0]!.name).toBe('gitlab__create_issue');
    // A filter that denies everything leaves nothing; the filter sees exposed names only.
    const seen: string[] = [];
    expect(index.search('create an issue', { filter: (n) => (seen.push(n), false) })).toEqual([]);
    expect(seen.every((n) => catalog.some((t) => t.name === n))).toBe(true);
  });

  it('returns [] for empty, stopword-only and unknown queries', () => {
    const index = new ToolIndex(catalog);
    expect(index.search('')).toEqual([]);
    expect(index.search('   \t\n')).toEqual([]);
    expect(index.search('the of and to a in is it')).toEqual([]);
    expect(index.search('what can you do for me please')).toEqual([]);
    expect(index.search('?!. -- __')).toEqual([]);
    expect(index.search('xyzzyplugh')).toEqual([]);
    expect(new ToolIndex([]).search('anything')).toEqual([]);
    expect(new ToolIndex([]).size).toBe(0);
  });

  it('matches partial words against name tokens and uses synonyms', () => {
    const tools: SearchableTool[] = [
      { name: 'fs__list_directory', description: 'List entries.' },
      { name: 'git__get_repository', description: 'Get metadata.' },
      { name: 'tickets__remove_ticket', description: 'Gone for good.' },
      { name: 'notes__write_note', description: 'Persist a note.' },
    ];
    const index = new ToolIndex(tools);
    expect(index.search('dir')[0]?.name).toBe('fs__list_directory');
    expect(index.search('repo info')[0]?.name).toBe('git__get_repository');
    expect(index.search('delete a ticket')[0]?.name).toBe('tickets__remove_ticket');
    expect(index.search('save note')[0]?.name).toBe('notes__write_note');
    // The word as typed beats its synonym.
    const both = new ToolIndex([
      { name: 'a__remove_item', description: 'x' },
      { name: 'b__delete_item', description: 'x' },
    ]);
    expect(both.search('delete item').map((h) => h.name)).toEqual(['b__delete_item', 'a__remove_item']);
  });

  it('reads a file name in the query as "a file" and prefers tools matching more of the query', () => {
    const index = new ToolIndex([
      { name: 'notes__create_note', description: 'Create a note.' },
      { name: 'fs__write_file', description: 'Write text to a file.' },
      { name: 'crm__list_reports', description: 'List reports.' },
      { name: 'fs__create_directory', description: 'Create a new directory.' },
    ]);
    expect(index.search('save this text to notes.txt')[0]?.name).toBe('fs__write_file');
    expect(index.search('make a new folder called reports')[0]?.name).toBe('fs__create_directory');
  });

  it('indexes titles, argument names and (nested) argument descriptions', () => {
    const index = new ToolIndex([
      { name: 'x__one', title: 'Quarterly Forecast' },
      { name: 'x__two', inputSchema: { properties: { invoiceNumber: { description: 'The number' } } } },
      {
        name: 'x__three',
        inputSchema: {
          properties: { items: { type: 'array', items: { type: 'object', properties: { sku: { description: 'Warehouse stock keeping unit' } } } } },
        },
      },
      { name: 'x__four', annotations: { title: 'Payroll Export' } },
      { name: 'x__five', inputSchema: { properties: { weird: null, odd: 'string', bad: { description: 7 } } } },
    ]);
    expect(index.search('forecast')[0]?.name).toBe('x__one');
    expect(index.search('invoice')[0]?.name).toBe('x__two');
    expect(index.search('warehouse')[0]?.name).toBe('x__three');
    expect(index.search('sku')[0]?.name).toBe('x__three');
    expect(index.search('payroll')[0]?.name).toBe('x__four');
    expect(index.search('weird odd bad')[0]?.name).toBe('x__five');
  });

  it('builds over ~1,000 tools and searches in well under a millisecond (timings printed, not asserted)', () => {
    const builds: number[] = [];
    let index = new ToolIndex(catalog);
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      index = new ToolIndex(catalog);
      builds.push(performance.now() - t0);
    }
    builds.sort((a, b) => a - b);
    expect(index.size).toBe(catalog.length);
    expect(index.size).toBeGreaterThanOrEqual(1000);

    const queries = QUERIES.map(([q]) => q);
    for (let i = 0; i < 2000; i++) index.search(queries[i % queries.length]!); // warm-up
    const rounds = 200;
    const t0 = performance.now();
    let sink = 0;
    for (let r = 0; r < rounds; r++) for (const q of queries) sink += index.search(q).length;
    const perQuery = (performance.now() - t0) / (rounds * queries.length);
    const filter = (name: string) => !name.startsWith('github__');
    const t1 = performance.now();
    for (let r = 0; r < rounds; r++) for (const q of queries) sink += index.search(q, { limit: 20, filter }).length;
    const perFiltered = (performance.now() - t1) / (rounds * queries.length);
    expect(sink).toBeGreaterThan(0);
    console.log(
      `ToolIndex over ${index.size} tools: build median ${builds[builds.length >> 1]!.toFixed(2)} ms (min ${builds[0]!.toFixed(2)}, max ${builds[builds.length - 1]!.toFixed(2)}); ` +
        `search mean ${(perQuery * 1000).toFixed(1)} µs/query (limit 5), ${(perFiltered * 1000).toFixed(1)} µs/query (limit 20 + filter) over ${rounds * queries.length} queries`,
    );
  });
});
