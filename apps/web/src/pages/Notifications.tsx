import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { ErrorBanner, QueryState } from '../components/forms';
import { api, call, type Notification, type NotificationList } from '../lib/api';
import { formatDateTime } from '../lib/format';
import { keys, useNotifications } from '../lib/queries';

export const NOTIFICATION_KIND_LABELS: Record<string, string> = {
  lowBalance: 'Low balance',
  suspended: 'Machines suspended',
  balanceRestored: 'Balance restored',
  hostRemoved: 'Host removed',
};

/** In-app notices (also sent by email): low balance, machines suspended, balance restored, a host removed. */
export function NotificationsPage() {
  const queryClient = useQueryClient();
  const notifications = useNotifications();
  const readAll = useMutation({
    mutationFn: () => call(api.POST('/api/notifications/read-all')),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.notifications }),
  });
  const data = notifications.data;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Notifications</h1>
          <p className="muted">Notices about your account and machines. Each was also sent to you by email.</p>
        </div>
        {data && data.unread > 0 && (
          <button type="button" className="btn" disabled={readAll.isPending} onClick={() => readAll.mutate()}>
            Mark all as read
          </button>
        )}
      </div>
      <ErrorBanner error={readAll.error} />
      <QueryState query={notifications} what="Loading your notifications" />
      {data && data.items.length === 0 && <p className="empty empty--boxed">No notifications yet.</p>}
      {data && data.items.length > 0 && (
        <ol className="notices" aria-label="Notifications">
          {data.items.map((notice) => (
            <NoticeItem key={notice.id} notice={notice} />
          ))}
        </ol>
      )}
    </>
  );
}

function NoticeItem({ notice }: { notice: Notification }) {
  const queryClient = useQueryClient();
  const markRead = useMutation({
    mutationFn: () => call(api.POST('/api/notifications/{id}/read', { params: { path: { id: notice.id } } })),
    onSuccess: (updated) => {
      queryClient.setQueryData<NotificationList>(keys.notifications, (list) =>
        list
          ? {
              unread: Math.max(0, list.unread - (notice.readAt ? 0 : 1)),
              items: list.items.map((item) => (item.id === updated.id ? updated : item)),
            }
          : list,
      );
      queryClient.invalidateQueries({ queryKey: keys.notifications });
    },
  });
  const unread = !notice.readAt;
  return (
    <li className={`notice notice--${notice.kind}${unread ? ' notice--unread' : ''}`} aria-labelledby={`notice-${notice.id}`}>
      <div className="notice__head">
        <span className={`notice__kind notice__kind--${notice.kind}`}>{NOTIFICATION_KIND_LABELS[notice.kind] ?? notice.kind}</span>
        <h2 id={`notice-${notice.id}`} className="notice__subject">
          {unread && <span className="sr-only">Unread: </span>}
          {notice.subject}
        </h2>
        <time className="muted small" dateTime={notice.createdAt}>
          {formatDateTime(notice.createdAt)}
        </time>
      </div>
      <p className="notice__body">{notice.body}</p>
      <div className="notice__foot">
        {(notice.kind === 'lowBalance' || notice.kind === 'suspended') && (
          <Link className="btn btn--small btn--primary" to="/account#add-value">
            Add value
          </Link>
        )}
        {notice.machineId && (
          <Link className="btn btn--small" to={`/machines/${notice.machineId}`}>
            View the machine
          </Link>
        )}
        {unread ? (
          <button type="button" className="btn btn--small btn--ghost" disabled={markRead.isPending} onClick={() => markRead.mutate()}>
            Mark as read
          </button>
        ) : (
          <span className="muted small">Read {formatDateTime(notice.readAt)}</span>
        )}
        {notice.emailed && <span className="muted small">· emailed</span>}
      </div>
      <ErrorBanner error={markRead.error} />
    </li>
  );
}
