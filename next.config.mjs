/**
 * The dashboard is a static export (out/) that the headless node serves at `/` on its API port, so a
 * browser needs nothing but the node. Nothing here fetches from the network at build time.
 * @type {import('next').NextConfig}
 */
const nextConfig = {
  output: 'export',
  // Routes as folders with index.html (out/settings/index.html), which any static handler resolves.
  trailingSlash: true,
  images: { unoptimized: true },
  // `npm run typecheck` checks the whole repository (app/ included) once; a second pass inside
  // `next build` would only cost time on a 2-core machine.
  typescript: { ignoreBuildErrors: true },
  reactStrictMode: true,
};

export default nextConfig;
