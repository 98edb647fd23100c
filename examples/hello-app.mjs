// A tiny application for the walkthroughs in README.md and docs/: answers every
// request with one line naming itself and echoing the method and path, so you
// can see which instance the proxy chose and what path reached it.
//   node examples/hello-app.mjs PORT [NAME]
import { createServer } from 'node:http';

const [port = '9081', name = 'hello'] = process.argv.slice(2);
createServer((req, res) => {
  req.resume(); // a request body is read and dropped
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(`${name}: ${req.method} ${req.url}\n`);
}).listen(Number(port), '127.0.0.1', () => console.log(`${name} listening on http://127.0.0.1:${port}`));
