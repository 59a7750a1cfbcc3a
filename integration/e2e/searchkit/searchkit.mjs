// searchkit.mjs: runs InstantSearch requests through Searchkit's API
// (@searchkit/api), which turns them into Elasticsearch _msearch requests,
// against the federate route at FEDERATE_URL, and prints Searchkit's answer
// (InstantSearch results) as JSON. argv[2] is the JSON array of requests.
// On a client error it prints {"error": message} and exits 1.
import Client from '@searchkit/api';

const client = Client({
  connection: { host: process.env.FEDERATE_URL },
  search_settings: {
    search_attributes: [{ field: 'title', weight: 3 }, 'body'],
    result_attributes: ['id', 'title', 'section'],
    highlight_attributes: ['title'],
    facet_attributes: [
      { attribute: 'section', field: 'section', type: 'string' },
      { attribute: 'tags', field: 'tags', type: 'string' },
    ],
    sorting: {
      default: { field: '_score', order: 'desc' },
      _section_asc: { field: 'section', order: 'asc' },
    },
  },
});

try {
  const res = await client.handleRequest(JSON.parse(process.argv[2]));
  process.stdout.write(JSON.stringify(res));
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String((e && e.message) || e) }));
  process.exitCode = 1;
}
