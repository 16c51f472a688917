// Parse microformats2 from HTML with microformats-parser (the Node parser), for the tests:
//   node tests/tools/mf2.mjs BASE_URL < page.html
// reads the HTML from stdin and prints the parsed JSON ({items, rels, "rel-urls"}) on stdout.
import { mf2 } from "microformats-parser";

const baseUrl = process.argv[2];
if (!baseUrl) {
  process.stderr.write("usage: node mf2.mjs BASE_URL < page.html\n");
  process.exit(2);
}
const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const html = Buffer.concat(chunks).toString("utf8");
process.stdout.write(JSON.stringify(mf2(html, { baseUrl })));
