import { Dashboard } from './dashboard.tsx';

export default function Page() {
  return <Dashboard />;
}
